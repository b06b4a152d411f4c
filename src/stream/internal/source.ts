// The first node of a run: reads an array, a sync iterable or an async
// iterable (a Channel, a Node Readable, another pipeline) one item per pull.

import { openIterable } from '../../internal/iterate.ts';
import { IteratorNode } from './iterator-node.ts';
import { DONE, isThenable, type Pulled, type Scope } from './node.ts';

export type Source<T> = Iterable<T> | AsyncIterable<T>;

export class SourceNode<T> extends IteratorNode<T> {
  private array: ArrayLike<T> | undefined;
  private position = 0;
  private sync: Iterator<T> | undefined;
  private async: AsyncIterator<T> | undefined;
  private opened = false;

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
    return this.nextOf(this.async!);
  }

  private open(): boolean {
    this.opened = true;
    const s = this.source;
    try {
      const opened = openIterable(s as Iterable<T> | AsyncIterable<T>);
      if (opened.kind === 'array') this.array = opened.array;
      else if (opened.kind === 'async') this.async = opened.iterator;
      else this.sync = opened.iterator;
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

  /**
   * Closes the source if it did not end: its `return()` (and so a
   * generator's `finally`) runs.
   */
  protected override async idle(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.sync !== undefined) this.sync.return?.();
    else if (this.async !== undefined) await this.closeIterator(this.async);
  }
}
