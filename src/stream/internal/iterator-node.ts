// What the source node and a through() stage share: reading an iterator one
// next() at a time, and closing it when the run stops before its end.

import { noop } from '../../internal/abort.ts';
import { DONE, type Done, Node, type Pulled } from './node.ts';

export abstract class IteratorNode<T> extends Node<T> {
  /** The iterator has ended (or failed, or been closed): pull answers DONE. */
  protected ended = false;
  private pending: Promise<T | Done> | undefined;

  /** Asks `iterator` for its next item; a throw or a rejection fails the run. */
  protected nextOf(iterator: AsyncIterator<T> | Iterator<T>): Pulled<T> {
    let next: Promise<IteratorResult<T>>;
    try {
      next = Promise.resolve(iterator.next());
    } catch (err) {
      return this.onError(err);
    }
    const p = next.then(this.onNext, this.onError);
    this.pending = p;
    return p;
  }

  private readonly onNext = (r: IteratorResult<T>): T | Done => {
    this.pending = undefined;
    if (r.done) {
      this.ended = true;
      return DONE;
    }
    return this.stopped ? DONE : r.value;
  };

  protected readonly onError = (err: unknown): Done => {
    this.pending = undefined;
    this.ended = true;
    this.fail(err);
    return DONE;
  };

  /** Closes `iterator` behind the read under way (see closeBehind). */
  protected closeIterator(iterator: AsyncIterator<T>): Promise<void> {
    this.ended = true;
    return closeBehind(iterator, this.pending);
  }
}

/**
 * Closes `iterator` (a generator runs its `finally`) and waits for it and
 * for `pending`, the read under way. return() is called at once, so that a
 * source able to withdraw a waiting next() (a Channel) stops waiting; an
 * async generator queues it behind the running next(). Rejects with what
 * return() rejects with, never leaving it unhandled meanwhile.
 */
export async function closeBehind(
  iterator: AsyncIterator<unknown> | undefined,
  pending: Promise<unknown> | undefined,
): Promise<void> {
  const closing = Promise.resolve(iterator?.return?.());
  // It may fail before the next() settles: that is read below, not unhandled.
  closing.catch(noop);
  await pending;
  await closing;
}
