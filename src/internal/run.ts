// The engine behind fanOut and fanOutSettled: one call's state, its worker
// loops, and how it stops and settles. The public functions validate their
// arguments and hand over to a Run.

import { AggregateTaskError, CancelledError } from '../errors.ts';
import type { FanOutOptions, Progress } from '../fan-out.ts';
import type { TaskFn } from '../task.ts';
import { isEcho, listen, noop, sharedController } from './abort.ts';
import { Context, type Policy, runAttempts } from './attempt.ts';
import { type Deferred, deferred } from './deferred.ts';
import { type Opened, openIterable } from './iterate.ts';
import { sizeOf } from './size.ts';
import { attachSuppressed } from './suppressed.ts';

const STOPPED = Symbol('stopped');

// The array fast path stores results in fixed chunks and joins them once at
// the end. Sizing one array up front costs O(n) before the first task can
// start (a call that fails early pays for the whole input), and growing one
// copies it over and over; chunks cost neither.
const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;

function joinChunks(chunks: unknown[][], length: number): unknown[] {
  let out: unknown[] = [];
  // concat takes the chunks as arguments: a bounded number per call.
  for (let i = 0; i < chunks.length; i += 16_384) {
    out = out.concat(...chunks.slice(i, i + 16_384));
  }
  out.length = length;
  return out;
}

/**
 * One call's state. Tasks run in worker loops: each loop runs a task, then
 * pulls the next input itself, so the steady state costs one `await` and one
 * context object per task, as a hand-written loop would.
 */
export class Run<T, R> {
  readonly promise: Promise<unknown[]>;
  private readonly done: Deferred<unknown[]>;
  private readonly controller = sharedController();
  private readonly signal = this.controller.signal;
  private readonly limit: number;
  private readonly ordered: boolean;
  private readonly failFast: boolean;
  private readonly source: Opened<T>;
  private readonly results: unknown[];
  /** The array fast path's results, in chunks: see joinChunks. */
  private chunks: unknown[][] | undefined;
  private readonly unlisten: () => void;
  private next = 0;
  /** Worker loops alive: running a task, or (async input) pulling one. */
  private workers = 0;
  private exhausted = false;
  private stopped = false;
  private finished = false;
  /** Set once something fails the whole call: its first error. */
  private failed = false;
  private firstError: unknown;
  /** Errors besides the first, with the index of their task (-1: the input). */
  private errors: { index: number; error: unknown }[] | undefined;
  private parentAborted = false;
  // Progress counters: only kept when someone listens.
  private readonly onProgress: ((p: Progress) => void) | undefined;
  private started = 0;
  private settledCount = 0;
  private failedCount = 0;
  private readonly total: number | undefined;
  // Async input only: pulls are serialised, and race against stopping.
  private pullChain: Promise<IteratorResult<T> | typeof STOPPED> = Promise.resolve(STOPPED);
  private pulling = 0;
  /** Wakes the async pulls waiting on the source when the call stops. */
  private readonly waiting = new Set<(stopped: typeof STOPPED) => void>();
  private pulled: T | undefined;

  constructor(
    tasks: Iterable<T> | AsyncIterable<T>,
    private readonly fn: TaskFn<T, R>,
    options: FanOutOptions,
    private readonly policy: Policy | undefined,
    private readonly settled: boolean,
  ) {
    this.done = deferred();
    this.promise = this.done.promise;
    this.limit = options.concurrency ?? Number.POSITIVE_INFINITY;
    this.ordered = options.ordered ?? true;
    this.failFast = !settled && (options.failFast ?? true);
    this.onProgress = options.onProgress;
    this.total = this.onProgress ? sizeOf(tasks) : undefined;
    this.source = openIterable(tasks);
    this.results = [];
    const parent = options.signal;
    this.unlisten = parent
      ? listen(parent, () => {
          this.parentAborted = !this.failed;
          this.stop(parent.reason);
        })
      : noop;
    if (this.source.kind === 'async') {
      this.spawnPuller();
    } else if (
      this.source.kind === 'array' &&
      !policy &&
      !settled &&
      !this.onProgress &&
      this.ordered
    ) {
      this.runArray(this.source.array);
    } else {
      while (this.workers < this.limit && !this.stopped && this.pullSync()) {
        this.workers++;
        void this.work(this.pulled as T, this.next++);
      }
      this.pulled = undefined;
      if (this.workers === 0) this.finish();
    }
  }

  /** Runs tasks until the input runs out or the call stops. */
  private async work(item: T, index: number): Promise<void> {
    const sync = this.source.kind !== 'async';
    for (;;) {
      // An async pull resolves a few microtasks before we get here: the
      // call may have stopped in between.
      if (this.stopped) break;
      if (this.onProgress) {
        this.progress(1, 0, 0);
        if (this.stopped) break; // onProgress threw: the call failed
      }
      try {
        const value = this.policy
          ? await runAttempts(this.fn, item, index, this.signal, this.policy)
          : await this.fn(item, new Context(this.signal, index, 1));
        this.succeed(value, index);
      } catch (err) {
        this.fail(err, index);
      }
      if (this.stopped) break;
      if (sync) {
        if (!this.pullSync()) break;
        item = this.pulled as T;
        this.pulled = undefined;
      } else {
        const r = await this.pullAsync();
        if (r === STOPPED) break;
        item = r;
      }
      index = this.next++;
    }
    if (--this.workers === 0) this.finish();
  }

  /**
   * The common case (an array, in order, no retries, timeouts or progress)
   * gets worker loops of its own, written as closures over local state:
   * V8 runs those measurably faster than an async method reading fields.
   */
  private runArray(array: ArrayLike<T>): void {
    const { fn, signal } = this;
    const chunks: unknown[][] = (this.chunks = []);
    let next = 0;
    const work = async (item: T, index: number): Promise<void> => {
      for (;;) {
        try {
          const value = await fn(item, new Context(signal, index, 1));
          (chunks[index >>> CHUNK_BITS] ??= new Array(CHUNK))[index & (CHUNK - 1)] = value;
        } catch (err) {
          this.fail(err, index);
        }
        if (this.stopped || next >= array.length) break;
        index = next++;
        item = array[index]!;
      }
      this.next = next;
      if (next >= array.length) this.exhausted = true;
      if (--this.workers === 0) this.finish();
    };
    while (this.workers < this.limit && !this.stopped && next < array.length) {
      this.workers++;
      const index = next++;
      void work(array[index]!, index);
    }
    this.next = next;
    if (this.workers === 0) {
      this.exhausted = true;
      this.finish();
    }
  }

  /** Async input: a worker that first pulls its own item. */
  private async spawnPuller(): Promise<void> {
    this.workers++;
    const r = await this.pullAsync();
    if (r === STOPPED) {
      if (--this.workers === 0) this.finish();
      return;
    }
    return this.work(r, this.next++);
  }

  private succeed(value: R, index: number): void {
    const v = this.settled ? { status: 'fulfilled' as const, value } : value;
    if (this.ordered) this.results[index] = v;
    else this.results.push(v);
    if (this.onProgress) this.progress(0, 1, 0);
  }

  private fail(error: unknown, index: number): void {
    if (this.settled) {
      const v = { status: 'rejected' as const, reason: error };
      if (this.ordered) this.results[index] = v;
      else this.results.push(v);
    } else if (this.failFast) {
      this.failWhole(error, index);
    } else {
      (this.errors ??= []).push({ index, error });
    }
    if (this.onProgress) this.progress(0, 1, 1);
  }

  /** Records an error that ends the call (a fail-fast task, the input, onProgress). */
  private failWhole(error: unknown, index: number): void {
    if (!this.failed && !this.parentAborted) {
      this.failed = true;
      this.firstError = error;
      this.stop(new CancelledError('cancelled: a sibling task failed', { cause: error }));
    } else if (!isEcho(error, this.signal.reason)) {
      (this.errors ??= []).push({ index, error });
    }
  }

  private stop(reason: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    this.controller.abort(reason);
    for (const wake of this.waiting) wake(STOPPED);
    this.waiting.clear();
  }

  private progress(started: number, done: number, failed: number): void {
    this.started += started;
    this.settledCount += done;
    this.failedCount += failed;
    const p: Progress = {
      started: this.started,
      done: this.settledCount,
      failed: this.failedCount,
    };
    if (this.total !== undefined) p.total = this.total;
    try {
      this.onProgress!(p);
    } catch (err) {
      this.failWhole(err, -1);
    }
  }

  /** Pulls the next input into `this.pulled`; false when there is none. */
  private pullSync(): boolean {
    if (this.exhausted) return false;
    const source = this.source;
    if (source.kind === 'array') {
      if (this.next >= source.array.length) return this.exhaust();
      this.pulled = source.array[this.next];
      return true;
    }
    let r: IteratorResult<T>;
    try {
      r = (source as { iterator: Iterator<T> }).iterator.next();
    } catch (err) {
      this.exhausted = true; // a throwing iterator is done
      this.failWhole(err, -1);
      return false;
    }
    if (r.done) return this.exhaust();
    this.pulled = r.value;
    return true;
  }

  private exhaust(): false {
    this.exhausted = true;
    return false;
  }

  /**
   * Pulls the next async input, one `next()` at a time, and gives up as soon
   * as the call stops so that a source that never answers cannot hang it.
   * Starts another puller while there is room, so inputs are pulled only as
   * fast as slots free up.
   */
  private async pullAsync(): Promise<T | typeof STOPPED> {
    if (this.stopped || this.exhausted) return STOPPED;
    const iterator = (this.source as { iterator: AsyncIterator<T> }).iterator;
    const pull = (): IteratorResult<T> | typeof STOPPED | Promise<IteratorResult<T>> =>
      this.stopped || this.exhausted ? STOPPED : iterator.next();
    const link = (this.pullChain = this.pullChain.then(pull, pull));
    this.pulling++;
    let r: IteratorResult<T> | typeof STOPPED;
    // Settled by the pull, or early by stop() through `wake`. Not a race
    // against one stop promise shared by every pull: that would leave a
    // reaction holding each item on a promise that never settles.
    let wake!: (stopped: typeof STOPPED) => void;
    const turn = new Promise<IteratorResult<T> | typeof STOPPED>((resolve, reject) => {
      wake = resolve;
      link.then(resolve, reject);
    });
    this.waiting.add(wake);
    try {
      r = await turn;
    } catch (err) {
      this.exhausted = true;
      this.failWhole(err, -1);
      return STOPPED;
    } finally {
      this.waiting.delete(wake);
      this.pulling--;
    }
    if (r === STOPPED || this.stopped) return STOPPED;
    if (r.done) {
      this.exhausted = true;
      return STOPPED;
    }
    if (this.workers < this.limit) void this.spawnPuller();
    return r.value;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.unlisten();
    if (!this.exhausted) {
      this.closeSource().then(
        () => this.settle(),
        (err) => {
          (this.errors ??= []).push({ index: -1, error: err });
          this.settle();
        },
      );
    } else {
      this.settle();
    }
  }

  /** Lets the input run its `finally` when the call stops before the end. */
  private async closeSource(): Promise<void> {
    this.exhausted = true;
    const source = this.source;
    if (source.kind === 'sync') {
      source.iterator.return?.();
    } else if (source.kind === 'async' && source.iterator.return) {
      const iterator = source.iterator;
      const closing = this.pullChain.then(() => iterator.return!());
      // A pull still waiting on the source would make us wait forever.
      if (this.pulling === 0) await closing;
      else closing.catch(noop);
    }
  }

  private settle(): void {
    const errors = this.errors?.sort((a, b) => a.index - b.index);
    if (this.parentAborted) {
      this.done.reject(this.signal.reason);
    } else if (this.failed) {
      if (errors)
        attachSuppressed(
          this.firstError,
          errors.map((e) => e.error),
        );
      this.done.reject(this.firstError);
    } else if (errors) {
      const total = this.next;
      this.done.reject(
        new AggregateTaskError(
          errors.map((e) => e.error),
          errors.map((e) => e.index),
          total,
        ),
      );
    } else {
      this.done.resolve(this.chunks ? joinChunks(this.chunks, this.next) : this.results);
    }
  }
}
