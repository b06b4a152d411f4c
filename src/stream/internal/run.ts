// One run of a pipeline: builds its nodes, owns the parent signal's one
// listener, and decides what the consumer sees. Every way out (the end, a
// failure, an early exit, the parent's abort) goes through end(), which
// waits until no node runs anything before it answers.

import { CancelledError } from '../../errors.ts';
import { isEcho, listen, noop } from '../../internal/abort.ts';
import { attachSuppressed, throwFirst } from '../../internal/suppressed.ts';
import { type PipelineTrace, tracePipeline } from '../../tracing/pipeline.ts';
import { DONE, type Done, isThenable, type Node, type Scope } from './node.ts';

export type Build<T> = (scope: Scope) => Node<T>;

const END: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

export class Run<T> implements Scope {
  private tail: Node<T> | undefined;
  private stopped = false;
  private failed = false;
  private aborted = false;
  private error: unknown;
  private closing: Promise<unknown[]> | undefined;
  private unlisten: () => void = noop;
  private ending: Promise<void> | undefined;
  private trace: PipelineTrace | undefined;

  constructor(
    private readonly build: Build<T>,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Builds the nodes on first use; throws the parent's reason if it aborted already. */
  start(): Node<T> {
    if (this.tail !== undefined) return this.tail;
    const signal = this.signal;
    if (signal?.aborted) {
      this.ending = Promise.resolve();
      throw signal.reason;
    }
    // One lookup per run; undefined (nothing per item) without an SDK.
    const trace = (this.trace = tracePipeline(signal));
    const tail = trace === undefined ? this.build(this) : trace.building(() => this.build(this));
    this.tail = tail;
    this.unlisten = listen(signal, () => {
      if (this.stopped) return;
      this.aborted = true;
      this.stop(signal!.reason);
    });
    return tail;
  }

  fail(error: unknown): void {
    if (this.stopped) {
      // Only a node that was not stopped yet can get here: keep it.
      if (this.failed && error !== this.error) attachSuppressed(this.error, [error]);
      return;
    }
    this.failed = true;
    this.error = error;
    this.stop(new CancelledError('cancelled: a pipeline stage failed', { cause: error }));
  }

  private stop(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.closing = this.tail!.close(reason);
  }

  /**
   * Called once the tail answered DONE, or the consumer left: stops what
   * still runs, waits for it, and settles as the run ended.
   */
  end(early: boolean): Promise<void> {
    this.ending ??= this.finish(early);
    return this.ending;
  }

  /** Whether end() was called already. */
  get ended(): boolean {
    return this.ending !== undefined;
  }

  private async finish(early: boolean): Promise<void> {
    if (this.tail === undefined) return;
    this.stop(
      early
        ? new CancelledError('cancelled: the pipeline consumer stopped early')
        : new CancelledError('cancelled: the pipeline ended'),
    );
    const late = await this.closing!;
    this.unlisten();
    this.trace?.end(this.failed, this.error, this.aborted, early);
    if (this.aborted) throw this.signal!.reason;
    if (this.failed) {
      attachSuppressed(
        this.error,
        late.filter((err) => !isEcho(err, this.error)),
      );
      throw this.error;
    }
    throwFirst(late);
  }

  /** Whether the run was stopped: the consumer gets no more items. */
  get over(): boolean {
    return this.stopped;
  }

  /**
   * Pulls every item into `onItem` (which may return a promise), then ends
   * the run. What terminals are made of: no iterator result per item.
   */
  async consume(onItem: (item: T) => unknown): Promise<void> {
    const tail = this.start();
    for (;;) {
      let item = tail.pull();
      if (item instanceof Promise) item = await item;
      if (item === DONE || this.stopped) break;
      try {
        const r = onItem(item);
        if (isThenable(r)) await r;
      } catch (err) {
        this.fail(err);
        break;
      }
    }
    await this.end(false);
  }
}

/** The pipeline's own async iterator, for `for await` and Readable.from. */
function toEnd(): IteratorReturnResult<undefined> {
  return END;
}

export class RunIterator<T> implements AsyncIterableIterator<T> {
  private last: Promise<IteratorResult<T>> | undefined;
  private pulling = false;

  constructor(private readonly run: Run<T>) {}

  next(): Promise<IteratorResult<T>> {
    // Calls to next() that overlap wait for each other, as with a generator.
    if (this.pulling) {
      this.last = this.last!.then(this.next1, this.next1);
      return this.last;
    }
    this.last = this.next1();
    return this.last;
  }

  private readonly next1 = (): Promise<IteratorResult<T>> => {
    // After the end (or an error, already reported), a run answers done, as a generator does.
    if (this.run.ended) return this.run.end(false).then(toEnd, toEnd);
    let tail: Node<T>;
    try {
      tail = this.run.start();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.run.over) return this.finish(DONE);
    this.pulling = true;
    const item = tail.pull();
    if (item instanceof Promise) return item.then(this.finish);
    return this.finish(item);
  };

  private readonly finish = (item: T | Done): Promise<IteratorResult<T>> => {
    this.pulling = false;
    if (item !== DONE && !this.run.over) return Promise.resolve({ value: item, done: false });
    return this.run.end(false).then(() => END);
  };

  /** Stops the run early and resolves once nothing of it runs any more. */
  async return(): Promise<IteratorResult<T>> {
    if (this.run.ended) {
      await this.run.end(true).catch(noop);
      return END;
    }
    await this.run.end(true);
    return END;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
