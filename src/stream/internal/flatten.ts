// The second half of flatMap: reads each iterable the map half produced, one
// after another, to the end.

import { openIterable } from '../../internal/iterate.ts';
import { checkIterable } from '../../internal/validate.ts';
import { closeBehind } from './iterator-node.ts';
import { DONE, type Done, Node, type Pulled, type Scope } from './node.ts';

type Inner<T> = Iterable<T> | AsyncIterable<T>;

export class FlattenNode<T> extends Node<T> {
  private sync: Iterator<T> | undefined;
  private async: AsyncIterator<T> | undefined;
  private pending: Promise<unknown> | undefined;

  constructor(scope: Scope, upstream: Node<Inner<T>>) {
    super(scope, upstream);
  }

  pull(): Pulled<T> {
    for (;;) {
      if (this.stopped) return DONE;
      if (this.async !== undefined) return this.track(this.pullAsync());
      if (this.sync !== undefined) {
        const r = this.pullSync();
        if (r !== DONE || this.stopped) return r;
      }
      const inner = (this.upstream as Node<Inner<T>>).pull();
      if (inner instanceof Promise) return this.track(this.pullAsync(inner));
      if (inner === DONE) return DONE;
      if (!this.open(inner)) return DONE;
    }
  }

  private async pullAsync(pending?: Promise<Inner<T> | Done>): Promise<T | Done> {
    for (;;) {
      if (pending !== undefined) {
        const inner = await pending;
        pending = undefined;
        if (inner === DONE || this.stopped) return DONE;
        if (!this.open(inner)) return DONE;
      }
      if (this.stopped) return DONE;
      if (this.async !== undefined) {
        let r: IteratorResult<T>;
        try {
          r = await this.async.next();
        } catch (err) {
          this.async = undefined;
          this.fail(err);
          return DONE;
        }
        if (this.stopped) return DONE;
        if (!r.done) return r.value;
        this.async = undefined;
      } else if (this.sync !== undefined) {
        const r = this.pullSync();
        if (r !== DONE) return r;
        if (this.stopped) return DONE;
      }
      const next = (this.upstream as Node<Inner<T>>).pull();
      if (next === DONE) return DONE;
      pending = Promise.resolve(next);
    }
  }

  /** The next item of the sync iterable being read; DONE at its end. */
  private pullSync(): T | Done {
    let r: IteratorResult<T>;
    try {
      r = this.sync!.next();
    } catch (err) {
      this.sync = undefined;
      this.fail(err);
      return DONE;
    }
    if (!r.done) return r.value;
    this.sync = undefined;
    return DONE;
  }

  private track(p: Promise<T | Done>): Promise<T | Done> {
    this.pending = p;
    return p;
  }

  private open(inner: Inner<T>): boolean {
    try {
      checkIterable('pipeline.flatMap', 'the result of fn', inner);
      const opened = openIterable(inner, false);
      if (opened.kind === 'async') this.async = opened.iterator;
      else this.sync = opened.iterator;
      return true;
    } catch (err) {
      this.fail(err);
      return false;
    }
  }

  /** Closes the iterable being read, if any, as `break` would. */
  protected override async idle(): Promise<void> {
    const sync = this.sync;
    const async = this.async;
    this.sync = undefined;
    this.async = undefined;
    sync?.return?.();
    await closeBehind(async, this.pending);
  }
}
