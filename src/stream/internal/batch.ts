// batch(size, { maxWait }): groups items into arrays of `size`; a shorter
// one at the end, or once `maxWait` ms passed since its first item.

import { after, noop } from '../../internal/abort.ts';
import { DONE, type Done, Node, type Pulled, type Scope } from './node.ts';

export class BatchNode<T> extends Node<T[]> {
  private batch: T[] = [];
  private ended = false;
  /** An upstream pull that outlived the batch it was for: its item opens the next. */
  private carried: Promise<T | Done> | undefined;
  private running: Promise<unknown> | undefined;
  private deadline = 0;
  private cancelTimer: () => void = noop;
  private wake: (() => void) | undefined;

  constructor(
    scope: Scope,
    upstream: Node<T>,
    private readonly size: number,
    private readonly maxWait: number | undefined,
  ) {
    super(scope, upstream);
  }

  pull(): Pulled<T[]> {
    if (this.carried !== undefined) return this.track(this.pullAsync(this.carried));
    const upstream = this.upstream as Node<T>;
    for (;;) {
      if (this.stopped) return DONE;
      if (this.ended) return this.flush();
      const item = upstream.pull();
      if (item instanceof Promise) return this.track(this.pullAsync(item));
      if (item === DONE) this.ended = true;
      else if (this.add(item)) return this.flush();
    }
  }

  private async pullAsync(pending: Promise<T | Done>): Promise<T[] | Done> {
    this.carried = undefined;
    const upstream = this.upstream as Node<T>;
    for (;;) {
      if (this.maxWait !== undefined && this.batch.length > 0) {
        const got = await this.race(pending);
        if (this.stopped) return DONE;
        if (!got) {
          this.carried = pending;
          return this.flush();
        }
      }
      const item = await pending;
      if (this.stopped) return DONE;
      if (item === DONE) {
        this.ended = true;
        return this.flush();
      }
      if (this.add(item)) return this.flush();
      const next = upstream.pull();
      if (next === DONE) {
        this.ended = true;
        return this.flush();
      }
      pending = Promise.resolve(next);
    }
  }

  /** Adds an item; true when the batch is full. */
  private add(item: T): boolean {
    if (this.batch.length === 0 && this.maxWait !== undefined) {
      this.deadline = performance.now() + this.maxWait;
    }
    this.batch.push(item);
    return this.batch.length >= this.size;
  }

  private flush(): T[] | Done {
    if (this.batch.length === 0) return DONE;
    const out = this.batch;
    this.batch = [];
    return out;
  }

  /** Waits for `pending` or the batch's deadline: true if the item came first. */
  private race(pending: Promise<unknown>): Promise<boolean> {
    const ms = this.deadline - performance.now();
    if (ms <= 0) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const wake = () => resolve(false);
      this.wake = wake;
      this.cancelTimer = after(ms, wake);
      pending.then(() => {
        this.cancelTimer();
        this.wake = undefined;
        resolve(true);
      });
    });
  }

  private track(p: Promise<T[] | Done>): Promise<T[] | Done> {
    this.running = p;
    return p;
  }

  protected override onStop(): void {
    this.cancelTimer();
    this.wake?.();
    this.batch = [];
  }

  protected override async idle(): Promise<void> {
    await this.running;
    await this.carried;
  }
}
