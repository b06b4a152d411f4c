// through(stage): a Go-style stage, `(input, signal) => AsyncIterable`,
// usually an async generator that loops over its input.

import { CancelledError } from '../../errors.ts';
import { checkIterable } from '../../internal/validate.ts';
import type { Stage } from '../pipeline.ts';
import { DONE, type Done, Node, type Pulled, type Scope } from './node.ts';

const END: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export class ThroughNode<T, U> extends Node<U> {
  private iterator: AsyncIterator<U> | undefined;
  private ended = false;
  private pending: Promise<U | Done> | undefined;

  constructor(
    scope: Scope,
    upstream: Node<T>,
    private readonly stage: Stage<T, U>,
  ) {
    super(scope, upstream);
  }

  pull(): Pulled<U> {
    if (this.stopped || this.ended) return DONE;
    let next: Promise<IteratorResult<U>>;
    try {
      if (this.iterator === undefined) {
        const output = this.stage(new Input(this.upstream as Node<T>), this.signal);
        checkIterable('pipeline.through', 'the result of stage', output);
        // A stage may also return a plain iterable (an array, a sync generator).
        const open =
          (output as AsyncIterable<U>)[Symbol.asyncIterator] ??
          (output as Iterable<U>)[Symbol.iterator];
        this.iterator = open.call(output) as AsyncIterator<U>;
      }
      next = Promise.resolve(this.iterator.next());
    } catch (err) {
      this.ended = true;
      this.fail(err);
      return DONE;
    }
    const p = next.then(this.onNext, this.onError);
    this.pending = p;
    return p;
  }

  private readonly onNext = (r: IteratorResult<U>): U | Done => {
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

  /** Returns the stage's iterator (a generator runs its `finally`) and waits for it. */
  protected override async idle(): Promise<void> {
    if (this.ended || this.iterator === undefined) return;
    this.ended = true;
    const closing = this.iterator.return?.();
    await this.pending;
    await closing;
  }
}

/**
 * The stage's view of its upstream. Its return() (what `break` out of
 * `for await (x of input)` calls) stops and closes everything upstream and
 * waits for it, while the rest of the pipeline goes on.
 */
class Input<T> implements AsyncIterableIterator<T> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly upstream: Node<T>) {}

  next(): Promise<IteratorResult<T>> {
    // Pulls are serial even if the stage calls next() without awaiting.
    const r = this.queue.then(() => this.upstream.pull()).then(toResult);
    this.queue = r;
    return r;
  }

  async return(): Promise<IteratorResult<T>> {
    await this.upstream.close(new CancelledError('cancelled: a stage stopped reading its input'));
    return END;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

function toResult<T>(item: T | Done): IteratorResult<T> {
  return item === DONE ? END : { value: item, done: false };
}
