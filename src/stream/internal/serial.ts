// map with concurrency 1, filter and tap: stages that run one item at a
// time, inside the pull of the stage after them. When the function returns
// a plain value and the node upstream answers synchronously, an item goes
// through without a promise or a microtask hop: synchronous stages fuse.

import { Context, type Policy, runAttempts } from '../../internal/attempt.ts';
import type { TaskFn } from '../../task.ts';
import { DONE, type Done, isThenable, Node, type Pulled, type Scope } from './node.ts';

export type Kind = 'map' | 'filter' | 'tap';

const SKIP: unique symbol = Symbol('skip');
type Out<R> = R | Done | typeof SKIP;

export class SerialNode<T, R> extends Node<R> {
  private index = 0;
  private running: Promise<unknown> | undefined;

  constructor(
    scope: Scope,
    upstream: Node<T>,
    private readonly kind: Kind,
    private readonly fn: TaskFn<T, unknown>,
    private readonly policy: Policy | undefined,
  ) {
    super(scope, upstream);
  }

  pull(): Pulled<R> {
    const upstream = this.upstream as Node<T>;
    for (;;) {
      if (this.stopped) return DONE;
      const item = upstream.pull();
      if (item instanceof Promise) return this.track(this.pullAsync(item));
      if (item === DONE) return DONE;
      const out = this.apply(item);
      if (out === SKIP) continue;
      if (out instanceof Promise) return this.track(this.pullAsync(undefined, out));
      return out as R | Done;
    }
  }

  /** The same loop as pull(), once something had to be awaited. */
  private async pullAsync(
    pending: Promise<T | Done> | undefined,
    result?: Promise<Out<R>>,
  ): Promise<R | Done> {
    const upstream = this.upstream as Node<T>;
    for (;;) {
      let out: Out<R>;
      if (result !== undefined) {
        out = await result;
        result = undefined;
      } else {
        if (this.stopped) return DONE;
        const item = pending !== undefined ? await pending : await upstream.pull();
        pending = undefined;
        if (item === DONE) return DONE;
        const applied = this.apply(item);
        out = applied instanceof Promise ? await applied : applied;
      }
      if (this.stopped) return DONE;
      if (out !== SKIP) return out;
    }
  }

  private track(p: Promise<R | Done>): Promise<R | Done> {
    this.running = p;
    return p;
  }

  /** Runs the function on one item; a promise when it returned one. */
  private apply(item: T): Out<R> | Promise<Out<R>> {
    const index = this.index++;
    let value: unknown;
    try {
      value = this.policy
        ? runAttempts(this.fn, item, index, this.signal, this.policy)
        : this.fn(item, new Context(this.signal, index, 1));
    } catch (err) {
      this.fail(err);
      return DONE;
    }
    if (isThenable(value)) {
      return Promise.resolve(value).then(
        (v) => this.output(item, v),
        (err) => {
          this.fail(err);
          return DONE;
        },
      );
    }
    return this.output(item, value);
  }

  private output(item: T, value: unknown): Out<R> {
    if (this.kind === 'map') return value as R;
    if (this.kind === 'filter') return value ? (item as unknown as R) : SKIP;
    return item as unknown as R;
  }

  protected override idle(): Promise<void> | undefined {
    const running = this.running;
    return running?.then(() => {});
  }
}
