import type { AggregateTaskError, CancelledError } from './errors.ts';
import { compilePolicy } from './internal/attempt.ts';
import { Run } from './internal/run.ts';
import {
  checkBoolean,
  checkFunction,
  checkIterable,
  checkLimit,
  checkObject,
  checkOptionalFunction,
  checkSignal,
  checkString,
} from './internal/validate.ts';
import type { AttemptOptions, TaskFn } from './task.ts';
import { traceCall } from './tracing/calls.ts';

/**
 * Progress is what `onProgress` receives: tasks started, settled (`done`,
 * failed ones included) and failed so far, and the total when known.
 *
 * @example
 * ```ts
 * await fanOut(files, upload, { onProgress: (p) => console.log(`${p.done}/${p.total ?? '?'}`) })
 * ```
 */
export interface Progress {
  started: number;
  done: number;
  failed: number;
  /** The number of tasks, when the input is an array or has a `length` or `size`. */
  total?: number;
}

/**
 * FanOutOptions tune a {@link fanOut} or {@link fanOutSettled} call.
 * Every option is checked before any task starts.
 *
 * @example
 * ```ts
 * const options: FanOutOptions = { concurrency: 16, timeout: 5_000, retry: { attempts: 3 } }
 * await fanOut(urls, fetchOne, options)
 * ```
 */
export interface FanOutOptions extends AttemptOptions {
  /** At most this many tasks run at once: an integer >= 1 or Infinity (the default). */
  concurrency?: number;
  /** Cancels the call: running tasks see their signal abort, and the call rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** `true` (default): `results[i]` belongs to input `i`. `false`: results in completion order. */
  ordered?: boolean;
  /**
   * `true` (default): the first failure aborts the siblings and the call
   * rejects with it. `false`: every task runs, then the call rejects with an
   * {@link AggregateTaskError} holding every error.
   */
  failFast?: boolean;
  /** The span name of each task attempt (default `'fanout.task'`). */
  name?: string;
  /** Called synchronously each time a task starts or settles. */
  onProgress?: (progress: Progress) => void;
}

/**
 * Settled is the outcome of one task in {@link fanOutSettled}, as in `Promise.allSettled`.
 *
 * @example
 * ```ts
 * const failed = (await fanOutSettled(jobs, run)).filter((s) => s.status === 'rejected')
 * ```
 */
export type Settled<R> = PromiseSettledResult<R>;

/**
 * fanOut runs `fn` on every task with at most `concurrency` running at
 * once, and resolves with the results in input order.
 *
 * Tasks are pulled lazily from `tasks`; a synchronous iterable is pulled
 * synchronously, so the tasks that have room start in the same tick. Each
 * task gets a {@link TaskContext} whose `signal` aborts when the call is
 * cancelled.
 *
 * It settles only once every task it started has settled. On the first
 * failure it aborts the other tasks' signals (with a {@link CancelledError}
 * whose `cause` is that failure), starts nothing more, waits for the running
 * tasks, closes the input iterator, and rejects with the very error the task
 * threw; errors of the other tasks that are not mere echoes of the
 * cancellation are kept in that error's `suppressed` array (when it is an
 * object). With `failFast: false` every task runs and the call rejects with
 * an {@link AggregateTaskError}. When `options.signal` aborts, the call does
 * the same and rejects with `signal.reason`; an already-aborted signal starts
 * nothing. It adds at most one listener to `options.signal` and removes it
 * when it settles.
 *
 * An error thrown by the input iterator fails the call like a task error,
 * whatever `failFast` says.
 *
 * @throws TypeError or RangeError (as a rejection) for a bad argument, before any task starts.
 * @example
 * ```ts
 * const sizes = await fanOut(urls, async (url, { signal }) => {
 *   const res = await fetch(url, { signal })
 *   return (await res.arrayBuffer()).byteLength
 * }, { concurrency: 8, timeout: 10_000 })
 * ```
 */
export function fanOut<T, R>(
  tasks: Iterable<T> | AsyncIterable<T>,
  fn: TaskFn<T, R>,
  options?: FanOutOptions,
): Promise<R[]> {
  return start('fanOut', tasks, fn, options, false) as Promise<R[]>;
}

/**
 * fanOutSettled runs every task like {@link fanOut} with `failFast: false`,
 * and resolves with each task's outcome, as `Promise.allSettled` does.
 *
 * It never rejects because of a task; it rejects with `signal.reason` when
 * `options.signal` aborts (after the running tasks settle), with the input
 * iterator's error if it throws, and with a TypeError or RangeError for a
 * bad argument. `options.failFast` is ignored.
 *
 * @example
 * ```ts
 * const outcomes = await fanOutSettled(hosts, ping, { concurrency: 32 })
 * const down = outcomes.filter((o) => o.status === 'rejected').length
 * ```
 */
export function fanOutSettled<T, R>(
  tasks: Iterable<T> | AsyncIterable<T>,
  fn: TaskFn<T, R>,
  options?: FanOutOptions,
): Promise<Settled<R>[]> {
  return start('fanOutSettled', tasks, fn, options, true) as Promise<Settled<R>[]>;
}

function start<T, R>(
  api: string,
  tasks: Iterable<T> | AsyncIterable<T>,
  fn: TaskFn<T, R>,
  options: FanOutOptions | undefined,
  settled: boolean,
): Promise<unknown[]> {
  try {
    checkIterable(api, 'tasks', tasks);
    checkFunction(api, 'fn', fn);
    checkObject(api, 'options', options);
    const o = options ?? {};
    checkLimit(api, 'options.concurrency', o.concurrency);
    checkSignal(api, 'options.signal', o.signal);
    checkBoolean(api, 'options.ordered', o.ordered);
    checkBoolean(api, 'options.failFast', o.failFast);
    checkString(api, 'options.name', o.name);
    checkOptionalFunction(api, 'options.onProgress', o.onProgress);
    const policy = compilePolicy(api, o);
    if (o.signal?.aborted) return Promise.reject(o.signal.reason);
    // One lookup per call; undefined (nothing per task) without an SDK.
    const trace = traceCall(api, o, tasks);
    if (trace === undefined) return new Run(tasks, fn, o, policy, settled).promise;
    return trace.end(new Run(tasks, trace.wrap(fn), o, policy, settled).promise);
  } catch (err) {
    return Promise.reject(err);
  }
}
