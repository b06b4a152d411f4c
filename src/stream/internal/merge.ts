// merge's node: one loop per input, as in the Go blog's merge (a goroutine
// per input channel), each handing its item over and waiting until it is
// taken before it reads the next: at most one item per input is held.

import { type Deferred, deferred } from '../../internal/deferred.ts';
import { Queue } from '../../internal/queue.ts';
import { DONE, type Done, Node, type Pulled, type Scope } from './node.ts';

export class MergeNode<T> extends Node<T> {
  private started = false;
  private active = 0;
  private readonly ready = new Queue<T>();
  private readonly resumes = new Queue<() => void>();
  private waiter: Deferred<T | Done> | undefined;
  private quiet: Deferred<void> | undefined;

  constructor(
    scope: Scope,
    private readonly inputs: Node<T>[],
  ) {
    super(scope, undefined);
  }

  pull(): Pulled<T> {
    if (this.stopped) return DONE;
    if (!this.started) {
      this.started = true;
      this.active = this.inputs.length;
      for (const input of this.inputs) void this.work(input);
    }
    if (this.ready.length > 0) {
      this.resumes.shift()();
      return this.ready.shift();
    }
    if (this.active === 0) return DONE;
    this.waiter = deferred();
    return this.waiter.promise;
  }

  private async work(input: Node<T>): Promise<void> {
    for (;;) {
      let item = input.pull();
      if (item instanceof Promise) item = await item;
      if (item === DONE || this.stopped) break;
      const waiter = this.waiter;
      if (waiter !== undefined) {
        this.waiter = undefined;
        waiter.resolve(item);
        continue;
      }
      const taken = deferred();
      this.ready.push(item);
      this.resumes.push(taken.resolve as () => void);
      await taken.promise;
      if (this.stopped) break;
    }
    if (--this.active === 0) {
      this.quiet?.resolve();
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.resolve(DONE);
    }
  }

  protected override onStop(): void {
    while (this.resumes.length > 0) this.resumes.shift()();
    this.ready.clear();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(DONE);
  }

  protected override idle(): Promise<void> | undefined {
    if (this.active === 0) return undefined;
    this.quiet = deferred();
    return this.quiet.promise;
  }

  protected override closeUpstream(reason: unknown): Promise<unknown[]>[] {
    return this.inputs.map((input) => input.close(reason));
  }
}
