// map with concurrency > 1: fan a stage out to N workers and fan back in.
//
// Each worker is a loop that pulls an item, runs the task and writes the
// result into a ring buffer (ordered: a reorder window keyed by index), so
// the steady state costs the task's own promise and one await per item. The
// consumer takes results straight from the ring, synchronously while there
// are any; a promise is made only when it has to wait.
//
// Memory: at most `concurrency` tasks run, and at most 2 × concurrency items
// are held in all (running, or finished and waiting for the consumer or, when
// ordered, for an earlier item). A worker that finds that window full ends;
// the consumer starts workers again as it takes results.

import { Context, type Policy, runAttempts } from '../../internal/attempt.ts';
import { type Deferred, deferred } from '../../internal/deferred.ts';
import { Queue } from '../../internal/queue.ts';
import type { TaskFn } from '../../task.ts';
import { DONE, type Done, isThenable, Node, type Pulled, type Scope } from './node.ts';
import { Reorder } from './reorder.ts';

export class ConcurrentNode<T, R> extends Node<R> {
  private readonly window: number;
  private workers = 0;
  /** Index of the next item pulled. */
  private next = 0;
  /** Pulls under way: they will become items. */
  private pulling = 0;
  /** Results handed downstream. */
  private taken = 0;
  private exhausted = false;
  /** The async pull of the upstream under way, that the next pull queues behind. */
  private pullTail: Promise<T | Done> | undefined;
  private readonly reorder: Reorder<R> | undefined;
  private readonly fifo: Queue<R> | undefined;
  private waiter: Deferred<R | Done> | undefined;
  private quiet: Deferred<void> | undefined;

  constructor(
    scope: Scope,
    upstream: Node<T>,
    private readonly fn: TaskFn<T, R>,
    private readonly limit: number,
    ordered: boolean,
    private readonly policy: Policy | undefined,
  ) {
    super(scope, upstream);
    this.window = 2 * limit;
    if (ordered) this.reorder = new Reorder();
    else this.fifo = new Queue();
  }

  pull(): Pulled<R> {
    if (this.stopped) return DONE;
    if (this.ready()) return this.take();
    if (this.workers < this.limit && !this.exhausted) {
      this.spawn();
      if (this.stopped) return DONE;
      if (this.ready()) return this.take();
    }
    if (this.exhausted && this.workers === 0) return DONE;
    this.waiter = deferred();
    return this.waiter.promise;
  }

  private ready(): boolean {
    return this.reorder !== undefined ? this.reorder.ready() : this.fifo!.length > 0;
  }

  private take(): R {
    const value = this.reorder !== undefined ? this.reorder.take() : this.fifo!.shift();
    this.taken++;
    if (this.workers < this.limit && !this.exhausted) this.spawn();
    return value;
  }

  private hasRoom(): boolean {
    return !this.stopped && !this.exhausted && this.next + this.pulling - this.taken < this.window;
  }

  /**
   * Starts workers while there is room. With a synchronous upstream each
   * worker pulls its first item before this returns; with an asynchronous
   * one pulls are serial anyway, so one worker pulls and starts the next
   * once it has its item.
   */
  private spawn(): void {
    while (this.workers < this.limit && this.hasRoom()) {
      this.workers++;
      void this.work();
      if (this.pullTail !== undefined) break;
    }
  }

  private async work(): Promise<void> {
    const upstream = this.upstream as Node<T>;
    while (this.hasRoom()) {
      this.pulling++;
      let item: T | Done;
      const tail = this.pullTail;
      const p = tail === undefined ? upstream.pull() : tail.then(this.pullAgain);
      if (p instanceof Promise) {
        this.pullTail = p;
        item = await p;
        if (this.pullTail === p) this.pullTail = undefined;
      } else {
        item = p;
      }
      this.pulling--;
      if (item === DONE) {
        this.exhausted = true;
        break;
      }
      if (this.stopped) break;
      const index = this.next++;
      if (p instanceof Promise && this.workers < this.limit) this.spawn();
      let value: unknown;
      try {
        value = this.policy
          ? runAttempts(this.fn, item, index, this.signal, this.policy)
          : this.fn(item, new Context(this.signal, index, 1));
        if (isThenable(value)) value = await value;
      } catch (err) {
        this.fail(err);
        break;
      }
      this.deliver(index, value as R);
    }
    if (--this.workers === 0) this.onQuiet();
  }

  private readonly pullAgain = (): Pulled<T> =>
    this.stopped || this.exhausted ? DONE : (this.upstream as Node<T>).pull();

  private deliver(index: number, value: R): void {
    if (this.stopped) return;
    if (this.reorder !== undefined) this.reorder.set(index, value);
    else this.fifo!.push(value);
    const waiter = this.waiter;
    if (waiter !== undefined && this.ready()) {
      this.waiter = undefined;
      waiter.resolve(this.take());
    }
  }

  private onQuiet(): void {
    this.quiet?.resolve();
    const waiter = this.waiter;
    if (waiter !== undefined && this.exhausted && !this.ready()) {
      this.waiter = undefined;
      waiter.resolve(DONE);
    }
  }

  protected override onStop(): void {
    this.reorder?.clear();
    this.fifo?.clear();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(DONE);
  }

  protected override idle(): Promise<void> | undefined {
    if (this.workers === 0) return undefined;
    this.quiet = deferred();
    return this.quiet.promise;
  }
}
