// The shapes every task-running API shares: what a task receives, and how
// its attempts are limited in time and retried.

/**
 * TaskContext is what every task receives next to its input.
 *
 * `signal` aborts when the task should stop: a sibling failed, the caller's
 * signal aborted, or this attempt's `timeout` elapsed (then with a
 * TimeoutError). `index` is the task's position in the input, counting from
 * 0. `attempt` counts tries of this task from 1.
 *
 * @example
 * ```ts
 * await fanOut(urls, async (url, { signal, index, attempt }) => {
 *   console.log(`task ${index}, try ${attempt}`)
 *   return (await fetch(url, { signal })).status
 * })
 * ```
 */
export interface TaskContext {
  readonly signal: AbortSignal;
  readonly index: number;
  readonly attempt: number;
}

/**
 * TaskFn is a task: it takes one input and its context and returns a value
 * or a promise of one. It should stop soon after `ctx.signal` aborts.
 *
 * @example
 * ```ts
 * const resize: TaskFn<string, Buffer> = async (path, { signal }) => sharp(path).resize(64).toBuffer()
 * ```
 */
export type TaskFn<T, R> = (task: T, ctx: TaskContext) => R | Promise<R>;

/**
 * BackoffOptions shape the wait between attempts: the n-th retry waits
 * `min(max, initial * factor ** (n - 1))` ms, or a random time up to that
 * when `jitter` is on ("full jitter", which spreads retries of many tasks
 * apart). Defaults: initial 100, factor 2, max 30 000, jitter true.
 *
 * @example
 * ```ts
 * await fanOut(urls, fetchOne, { retry: { attempts: 4, backoff: { initial: 250, max: 5_000 } } })
 * ```
 */
export interface BackoffOptions {
  initial?: number;
  factor?: number;
  max?: number;
  jitter?: boolean;
}

/**
 * RetryOptions say how often a failing task is tried again.
 *
 * `attempts` is the total number of tries, at least 1. `backoff` is a fixed
 * delay in ms, {@link BackoffOptions} (the default: exponential from 100 ms
 * with full jitter), or a function of the attempt that just failed (from 1)
 * and its error, returning the delay in ms. `retryIf` decides
 * whether an error is worth another try (default: every error). A task is
 * never retried once its call was cancelled, and the wait between tries
 * ends as soon as the call is cancelled.
 *
 * @example
 * ```ts
 * await fanOut(urls, fetchOne, {
 *   retry: { attempts: 3, backoff: { initial: 200 }, retryIf: (err) => err.status >= 500 },
 * })
 * ```
 */
export interface RetryOptions {
  attempts: number;
  backoff?: number | BackoffOptions | ((attempt: number, error: unknown) => number);
  retryIf?: (error: unknown, attempt: number) => boolean;
}

/**
 * AttemptOptions are the per-attempt options shared by fanOut and pipeline
 * `map` stages: a time limit and a retry policy, both off by default.
 *
 * @example
 * ```ts
 * pipeline(urls).map(fetchOne, { concurrency: 8, timeout: 2_000, retry: { attempts: 2 } })
 * ```
 */
export interface AttemptOptions {
  /** Time limit of each attempt in ms (>= 0; default none). */
  timeout?: number;
  /** How to retry a failed task (default: no retry). */
  retry?: RetryOptions;
}
