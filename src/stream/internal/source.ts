// The first node of a run: reads an array, a sync iterable or an async
// iterable (a Channel, a Node Readable, another pipeline) one item per pull.

import { DONE, type Done, isThenable, Node, type Pulled, type Scope } from './node.ts';

export type Source<T> = Iterable<T> | AsyncIterable<T>;

export class SourceNode<T> extends Node<T> {
  private array: ArrayLike<T> | undefined;
  private position = 0;
  private sync: Iterator<T> | undefined;
  private async: AsyncIterator<T> | undefined;
  private opened = false;
  private ended = false;
  private pending: Promise<T | Done> | undefined;

  constructor(
    scope: Scope,
    private readonly source: Source<T>,
  ) {
    super(scope, undefined);
  }

  pull(): Pulled<T> {
    if (this.stopped || this.ended) return DONE;
    const array = this.array;
    if (array !== undefined) {
      if (this.position < array.length) return this.settle(array[this.position++] as T);
      this.ended = true;
      return DONE;
    }
    if (!this.opened) return this.open() ? this.pull() : DONE;
    if (this.sync !== undefined) {
      let r: IteratorResult<T>;
      try {
        r = this.sync.next();
      } catch (err) {
        this.ended = true;
        this.fail(err);
        return DONE;
      }
      if (r.done) {
        this.ended = true;
        return DONE;
      }
      return this.settle(r.value);
    }
    let next: Promise<IteratorResult<T>>;
    try {
      next = Promise.resolve(this.async!.next());
    } catch (err) {
      this.ended = true;
      this.fail(err);
      return DONE;
    }
    const p = next.then(this.onNext, this.onError);
    this.pending = p;
    return p;
  }

  private open(): boolean {
    this.opened = true;
    const s = this.source;
    try {
      if (Array.isArray(s) && s[Symbol.iterator] === Array.prototype[Symbol.iterator]) {
        this.array = s;
        return true;
      }
      const async = (s as AsyncIterable<T>)[Symbol.asyncIterator];
      if (typeof async === 'function') this.async = async.call(s);
      else this.sync = (s as Iterable<T>)[Symbol.iterator]();
      return true;
    } catch (err) {
      this.ended = true;
      this.fail(err);
      return false;
    }
  }

  // As `for await` does, a promise yielded by a sync source is awaited.
  private settle(value: T): Pulled<T> {
    if (!isThenable(value)) return value;
    return Promise.resolve(value).then((v) => (this.stopped ? DONE : (v as T)), this.onError);
  }

  private readonly onNext = (r: IteratorResult<T>): T | Done => {
    this.pending = undefined;
    if (r.done) {
      this.ended = true;
      return DONE;
    }
    return this.stopped ? DONE : r.value;
  };

  private readonly onError = (err: unknown): Done => {
    this.pending = undefined;
    this.ended = true;
    this.fail(err);
    return DONE;
  };

  /**
   * Closes the source if it did not end: its `return()` (and so a
   * generator's `finally`) runs. return() is called at once, so that a
   * source able to withdraw a waiting next() (a Channel) stops waiting; an
   * async generator queues it behind the running next(), which we wait for.
   */
  protected override async idle(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.sync !== undefined) {
      this.sync.return?.();
    } else if (this.async?.return !== undefined) {
      const closing = this.async.return();
      await this.pending;
      await closing;
    }
  }
}
