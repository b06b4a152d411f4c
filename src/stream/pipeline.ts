import { noop } from '../internal/abort.ts';
import { compilePolicy } from '../internal/attempt.ts';
import {
  checkBoolean,
  checkDuration,
  checkFunction,
  checkIterable,
  checkLimit,
  checkObject,
  checkSignal,
} from '../internal/validate.ts';
import type { AttemptOptions, TaskContext, TaskFn } from '../task.ts';
import { checkTrace, traceStage } from '../tracing/pipeline.ts';
import { BatchNode } from './internal/batch.ts';
import { checkCount, checkPeriod } from './internal/check.ts';
import { ConcurrentNode } from './internal/concurrent.ts';
import { FlattenNode } from './internal/flatten.ts';
import { isThenable, type Node, type Scope } from './internal/node.ts';
import { RateLimitNode } from './internal/rate-limit.ts';
import { type Build, Run, RunIterator } from './internal/run.ts';
import { SerialNode } from './internal/serial.ts';
import { SourceNode } from './internal/source.ts';
import { ThroughNode } from './internal/through.ts';

/**
 * What a pipeline reads: an array or other Iterable, an AsyncIterable (an
 * async generator, a Node `Readable`, another pipeline), or a `Channel`.
 * Promises yielded by a synchronous iterable are awaited, as `for await` does.
 */
export type PipelineSource<T> = Iterable<T> | AsyncIterable<T>;

/** Options of {@link pipeline}. */
export interface PipelineOptions {
  /** Cancels the run: every stage stops, the source is closed, and the consumer gets `signal.reason`. */
  signal?: AbortSignal;
}

/** Options of {@link Pipeline.map}, {@link Pipeline.flatMap} and {@link Pipeline.forEach}. */
export interface MapOptions extends AttemptOptions {
  /**
   * How many items the function runs on at once: an integer >= 1 or
   * Infinity. Default 1: one at a time, in the pull of the next stage.
   */
  concurrency?: number;
  /** `true` (default): results leave in input order. `false`: as they finish. */
  ordered?: boolean;
  /**
   * `'items'`: when an OpenTelemetry SDK is registered, each item gets a span
   * under the stage's span. Off by default: a long stream would flood the
   * exporter. See docs/tracing.md.
   */
  trace?: 'items';
}

/** Options of {@link Pipeline.batch}. */
export interface BatchOptions {
  /** Emits a batch that is not full once this many ms passed since its first item (default: wait to fill it). */
  maxWait?: number;
}

/**
 * A Go-style stage for {@link Pipeline.through}: reads `input` and yields
 * its output, usually as an async generator. `signal` aborts when the
 * pipeline stops; when the stage stops reading (`break`), everything
 * upstream of it is stopped and closed, and the rest goes on.
 */
export type Stage<T, U> = (
  input: AsyncIterable<T>,
  signal: AbortSignal,
) => AsyncIterable<U> | Iterable<U>;

/**
 * Pipeline is a lazy chain of stages over a stream of values, built with
 * {@link pipeline}, {@link merge} or {@link broadcast}. Nothing runs until a
 * terminal (`toArray`, `forEach`, `reduce`, `drain`) or `for await` consumes
 * it.
 *
 * A pipeline runs once. Each stage method returns a new pipeline and uses up
 * the one it was called on, and consuming one uses it up: using it again
 * throws a TypeError, as reading a fetch body twice does. To feed several
 * consumers, use {@link broadcast}.
 *
 * While it runs, a stage ends its output only after its input ended and its
 * work finished. When the consumer stops early (`break`, an error, the
 * signal), every stage stops: running tasks see their signal abort, the
 * source is closed (its `return()` and `finally` run), and the `for await`
 * resumes, or the terminal settles, only once nothing runs any more. An
 * error in any stage stops the rest and reaches the consumer as the very
 * object thrown; errors raised while the others wound down, other than the
 * cancellation echoing back, are kept in its `suppressed` array. Memory is
 * bounded by the stages' concurrency and buffers, whatever the length of
 * the stream.
 *
 * Synchronous stages cost a function call per item: `map`, `filter` and
 * `tap` whose function returns a plain value run inside the pull of the
 * next stage, without a promise.
 *
 * @example
 * ```ts
 * const total = await pipeline(urls)
 *   .map((url, { signal }) => fetch(url, { signal }).then((r) => r.text()), { concurrency: 8 })
 *   .filter((body) => body.length > 0)
 *   .reduce((sum, body) => sum + body.length, 0)
 * ```
 */
export class Pipeline<T> implements AsyncIterable<T> {
  readonly #build: Build<T>;
  readonly #signal: AbortSignal | undefined;
  readonly #depth: number;
  #used = false;

  /** Use {@link pipeline}, {@link merge} or {@link broadcast} to make one. @internal */
  constructor(build: Build<T>, signal: AbortSignal | undefined, depth = 0) {
    this.#build = build;
    this.#signal = signal;
    this.#depth = depth;
  }

  /**
   * map runs `fn(item, ctx)` on every item, `concurrency` at a time (default
   * 1), and passes its results on, in input order unless `ordered: false`.
   *
   * `ctx` is a {@link TaskContext} as in fanOut: its signal aborts when the
   * pipeline stops, or with a TimeoutError when `timeout` elapses; `retry`
   * tries a failing item again. At most `concurrency` items run and at most
   * 2 × concurrency are held. A failure of `fn` (after its retries) fails
   * the pipeline with that error.
   *
   * @throws TypeError / RangeError for a bad argument; TypeError if this pipeline was used.
   * @example
   * ```ts
   * pipeline(ids).map((id, { signal }) => db.get(id, { signal }), { concurrency: 16, timeout: 5_000 })
   * ```
   */
  map<R>(fn: TaskFn<T, R>, options?: MapOptions): Pipeline<R> {
    const make = compileMap('pipeline.map', fn, options, this.#depth);
    return this.#then((scope, up) => make(scope, up));
  }

  /**
   * flatMap runs `fn(item, ctx)` like {@link Pipeline.map}, and passes on the
   * items of each Iterable or AsyncIterable it returns, one result after
   * another; `concurrency` bounds the calls of `fn` running at once.
   *
   * @throws TypeError / RangeError for a bad argument; TypeError if this pipeline was used.
   * @example
   * ```ts
   * pipeline(dirs).flatMap((dir) => readdir(dir), { concurrency: 4 })
   * ```
   */
  flatMap<R>(fn: TaskFn<T, Iterable<R> | AsyncIterable<R>>, options?: MapOptions): Pipeline<R> {
    const make = compileMap('pipeline.flatMap', fn, options, this.#depth);
    return this.#then((scope, up) => new FlattenNode<R>(scope, make(scope, up)));
  }

  /**
   * filter passes on the items for which `fn(item, ctx)` returns (or
   * resolves to) a truthy value, one item at a time.
   *
   * @throws TypeError if `fn` is not a function or this pipeline was used.
   * @example
   * ```ts
   * pipeline(rows).filter((row) => row.active)
   * ```
   */
  filter<S extends T>(fn: (item: T, ctx: TaskContext) => item is S): Pipeline<S>;
  filter(fn: (item: T, ctx: TaskContext) => unknown): Pipeline<T>;
  filter(fn: (item: T, ctx: TaskContext) => unknown): Pipeline<T> {
    checkFunction('pipeline.filter', 'fn', fn);
    return this.#then((scope, up) => new SerialNode(scope, up, 'filter', fn, undefined));
  }

  /**
   * tap calls `fn(item, ctx)` on every item (waiting for it if it returns a
   * promise) and passes the item on unchanged: for logging or side effects.
   *
   * @throws TypeError if `fn` is not a function or this pipeline was used.
   * @example
   * ```ts
   * pipeline(jobs).tap((job, { index }) => console.log('job', index, job.id))
   * ```
   */
  tap(fn: (item: T, ctx: TaskContext) => unknown): Pipeline<T> {
    checkFunction('pipeline.tap', 'fn', fn);
    return this.#then((scope, up) => new SerialNode(scope, up, 'tap', fn, undefined));
  }

  /**
   * batch groups items into arrays of `size`; the last one may be shorter,
   * and with `maxWait` a batch leaves once that many ms passed since its
   * first item, full or not. It holds at most one batch.
   *
   * @throws TypeError / RangeError for a bad argument; TypeError if this pipeline was used.
   * @example
   * ```ts
   * pipeline(events).batch(100, { maxWait: 1_000 }).forEach((rows) => db.insert(rows))
   * ```
   */
  batch(size: number, options?: BatchOptions): Pipeline<T[]> {
    checkCount('pipeline.batch', 'size', size);
    checkObject('pipeline.batch', 'options', options);
    const maxWait = options?.maxWait;
    checkDuration('pipeline.batch', 'options.maxWait', maxWait);
    const wait =
      maxWait === undefined || maxWait === Number.POSITIVE_INFINITY ? undefined : maxWait;
    return this.#then((scope, up) => new BatchNode(scope, up, size, wait));
  }

  /**
   * rateLimit lets at most `n` items through in any window of `perMs`
   * milliseconds, holding back the next item until it may go. It holds at
   * most one item and the times of the last `n`.
   *
   * @throws TypeError / RangeError for a bad argument; TypeError if this pipeline was used.
   * @example
   * ```ts
   * pipeline(urls).rateLimit(10, 1_000).map(fetchOne) // at most 10 requests a second
   * ```
   */
  rateLimit(n: number, perMs: number): Pipeline<T> {
    checkCount('pipeline.rateLimit', 'n', n);
    checkPeriod('pipeline.rateLimit', 'perMs', perMs);
    return this.#then((scope, up) => new RateLimitNode(scope, up, n, perMs));
  }

  /**
   * through inserts a Go-style {@link Stage}: `stage(input, signal)` reads
   * `input` and yields what goes on, typically as an async generator.
   * `signal` aborts when the pipeline stops; an error it throws fails the
   * pipeline; a `break` out of its input stops and closes everything
   * upstream of it.
   *
   * @throws TypeError if `stage` is not a function or this pipeline was used.
   * @example
   * ```ts
   * pipeline(lines).through(async function* (input) {
   *   let n = 0
   *   for await (const line of input) { if (++n > 10) break; yield line }
   * })
   * ```
   */
  through<U>(stage: Stage<T, U>): Pipeline<U> {
    checkFunction('pipeline.through', 'stage', stage);
    return this.#then((scope, up) => new ThroughNode(scope, up, stage));
  }

  /**
   * toArray runs the pipeline and resolves with every item, in order.
   *
   * It settles only once nothing runs; it rejects with the first stage
   * error, or with `signal.reason` when the pipeline's signal aborts.
   *
   * @example
   * ```ts
   * const squares = await pipeline([1, 2, 3]).map((x) => x * x).toArray() // [1, 4, 9]
   * ```
   */
  toArray(): Promise<T[]> {
    const out: T[] = [];
    return this.#consume('pipeline.toArray', (item) => {
      out.push(item);
    }).then(() => out);
  }

  /**
   * forEach runs `fn(item, ctx)` on every item like {@link Pipeline.map}
   * (default `concurrency` 1; `ordered` defaults to false here, as nothing
   * reads the results) and resolves once every call finished.
   *
   * It settles only once nothing runs; it rejects with the first error, or
   * with `signal.reason` when the pipeline's signal aborts.
   *
   * @example
   * ```ts
   * await pipeline(files).forEach((file, { signal }) => upload(file, { signal }), { concurrency: 4 })
   * ```
   */
  forEach(fn: TaskFn<T, unknown>, options?: MapOptions): Promise<void> {
    let make: (scope: Scope, up: Node<T>) => Node<unknown>;
    try {
      make = compileMap('pipeline.forEach', fn, options, this.#depth, false);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#consume('pipeline.forEach', noop, (scope, up) => make(scope, up));
  }

  /**
   * reduce folds the items into one value: `acc = fn(acc, item)`, starting
   * from `initial`; `fn` may return a promise. It resolves with the final
   * value once nothing runs, or rejects with the first error or
   * `signal.reason`.
   *
   * @example
   * ```ts
   * const sum = await pipeline(numbers).reduce((a, x) => a + x, 0)
   * ```
   */
  reduce<A>(fn: (acc: A, item: T) => A | Promise<A>, initial: A): Promise<A> {
    try {
      checkFunction('pipeline.reduce', 'fn', fn);
    } catch (err) {
      return Promise.reject(err);
    }
    let acc = initial;
    const step = (item: T) => {
      const r = fn(acc, item);
      if (isThenable(r)) {
        return Promise.resolve(r).then((v) => {
          acc = v;
        });
      }
      acc = r;
    };
    return this.#consume('pipeline.reduce', step).then(() => acc);
  }

  /**
   * drain runs the pipeline for its side effects and drops the items; it
   * resolves once it ended and nothing runs, or rejects like toArray.
   *
   * @example
   * ```ts
   * await pipeline(rows).map(save, { concurrency: 8 }).drain()
   * ```
   */
  drain(): Promise<void> {
    return this.#consume('pipeline.drain', noop);
  }

  /**
   * Symbol.asyncIterator starts the run for `for await` (or
   * `Readable.from(pipeline)`). Breaking out of the loop stops the run, and
   * the loop resumes once nothing runs and the source is closed.
   *
   * @throws TypeError if this pipeline was used.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    this.#claim('pipeline[Symbol.asyncIterator]');
    return new RunIterator(new Run(this.#build, this.#signal));
  }

  #claim(api: string): void {
    if (this.#used) {
      throw new TypeError(
        `${api}: this pipeline was already consumed or extended; a pipeline runs once ` +
          '(build a new one, or share a stream between consumers with broadcast())',
      );
    }
    this.#used = true;
  }

  #then<U>(make: (scope: Scope, up: Node<T>) => Node<U>): Pipeline<U> {
    this.#claim('pipeline');
    const build = this.#build;
    return new Pipeline((scope) => make(scope, build(scope)), this.#signal, this.#depth + 1);
  }

  #consume<U = T>(
    api: string,
    onItem: (item: U) => unknown,
    last?: (scope: Scope, up: Node<T>) => Node<U>,
  ): Promise<void> {
    try {
      this.#claim(api);
    } catch (err) {
      return Promise.reject(err);
    }
    const build = this.#build;
    const whole: Build<U> =
      last === undefined ? (build as unknown as Build<U>) : (scope) => last(scope, build(scope));
    return new Run(whole, this.#signal).consume(onItem);
  }
}

/** Checks map-like arguments and returns what builds the stage's node for each run. */
function compileMap<T, R>(
  api: string,
  fn: TaskFn<T, R>,
  options: MapOptions | undefined,
  position: number,
  defaultOrdered = true,
): (scope: Scope, up: Node<T>) => Node<R> {
  checkFunction(api, 'fn', fn);
  checkObject(api, 'options', options);
  const o = options ?? {};
  checkLimit(api, 'options.concurrency', o.concurrency);
  checkBoolean(api, 'options.ordered', o.ordered);
  checkTrace(api, 'options.trace', o.trace);
  const policy = compilePolicy(api, o);
  const concurrency = o.concurrency ?? 1;
  const ordered = o.ordered ?? defaultOrdered;
  const attempts = policy?.attempts ?? 1;
  const items = o.trace === 'items';
  return (scope, up) => {
    // Once per stage per run, before any item: a traced run wraps the task in its stage's span.
    const task = traceStage(fn, { api, position: position + 1, concurrency, attempts, items });
    return concurrency === 1
      ? new SerialNode<T, R>(scope, up, 'map', task, policy)
      : new ConcurrentNode(scope, up, task, concurrency, ordered, policy);
  };
}

/**
 * pipeline starts a {@link Pipeline} over `source`: an Iterable, an
 * AsyncIterable (an async generator, a Node `Readable`, a `Channel`).
 *
 * Nothing is read until the pipeline is consumed; then the source is pulled
 * lazily, as fast as the stages downstream take items, and closed (its
 * `return()` runs) when the pipeline stops before the source ended. When
 * `options.signal` aborts, the run stops like an early exit and the
 * consumer gets `signal.reason`; an already-aborted signal starts nothing.
 * A run adds at most one listener to the signal and removes it when it ends.
 *
 * @throws TypeError for a source that is not iterable or bad options, at once.
 * @example
 * ```ts
 * for await (const digest of pipeline(files, { signal }).map(md5, { concurrency: 20 })) {
 *   console.log(digest)
 * }
 * ```
 */
export function pipeline<T>(source: PipelineSource<T>, options?: PipelineOptions): Pipeline<T> {
  checkIterable('pipeline', 'source', source);
  checkObject('pipeline', 'options', options);
  checkSignal('pipeline', 'options.signal', options?.signal);
  return new Pipeline((scope) => new SourceNode(scope, source), options?.signal);
}
