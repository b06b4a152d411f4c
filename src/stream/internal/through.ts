// through(stage): a Go-style stage, `(input, signal) => AsyncIterable`,
// usually an async generator that loops over its input.

import { CancelledError } from '../../errors.ts';
import { openIterable } from '../../internal/iterate.ts';
import { throwFirst } from '../../internal/suppressed.ts';
import { checkIterable } from '../../internal/validate.ts';
import type { Stage } from '../pipeline.ts';
import { IteratorNode } from './iterator-node.ts';
import { DONE, type Done, type Node, type Pulled, type Scope } from './node.ts';

const END: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export class ThroughNode<T, U> extends IteratorNode<U> {
  private iterator: AsyncIterator<U> | undefined;

  constructor(
    scope: Scope,
    upstream: Node<T>,
    private readonly stage: Stage<T, U>,
  ) {
    super(scope, upstream);
  }

  pull(): Pulled<U> {
    if (this.stopped || this.ended) return DONE;
    if (this.iterator === undefined) {
      try {
        const output = this.stage(new Input(this.upstream as Node<T>), this.signal);
        checkIterable('pipeline.through', 'the result of stage', output);
        // A stage may also return a plain iterable (an array, a sync generator).
        this.iterator = openIterable(output, false).iterator as AsyncIterator<U>;
      } catch (err) {
        return this.onError(err);
      }
    }
    return this.nextOf(this.iterator);
  }

  /** Returns the stage's iterator (a generator runs its `finally`) and waits for it. */
  protected override async idle(): Promise<void> {
    if (this.ended || this.iterator === undefined) return;
    await this.closeIterator(this.iterator);
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
    throwFirst(
      await this.upstream.close(new CancelledError('cancelled: a stage stopped reading its input')),
    );
    return END;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

function toResult<T>(item: T | Done): IteratorResult<T> {
  return item === DONE ? END : { value: item, done: false };
}
