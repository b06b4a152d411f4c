/**
 * Every error class that fanout raises. Each has a `name` equal to its class
 * name and a stable `code` (`ERR_FANOUT_*`) that programs can switch on.
 *
 * Errors thrown by your own tasks are never wrapped on the event loop: the
 * caller receives the very object the task threw.
 *
 * @module
 */

/** Options accepted by every fanout error. */
export interface FanoutErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
}

/**
 * FanoutError is the base class of every error fanout raises itself.
 *
 * @example
 * ```ts
 * try { await fanOut(items, work) } catch (err) {
 *   if (err instanceof FanoutError) console.error(err.code)
 * }
 * ```
 */
export class FanoutError extends Error {
  /** A stable, machine-readable code such as `ERR_FANOUT_TIMEOUT`. */
  readonly code: string = 'ERR_FANOUT';
  constructor(message: string, options?: FanoutErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * CancelledError is the reason a task's signal aborts with when fanout
 * cancels it because a sibling failed or its scope was left; `cause` holds
 * the error that triggered the cancellation, if any.
 *
 * @example
 * ```ts
 * await fanOut(urls, async (url, { signal }) => {
 *   await fetch(url, { signal }) // rejects with a CancelledError once a sibling fails
 * })
 * ```
 */
export class CancelledError extends FanoutError {
  override readonly code = 'ERR_FANOUT_CANCELLED';
}

/**
 * TimeoutError is the reason an attempt's signal aborts with when its
 * `timeout` elapses, and the error the attempt then fails with; `ms` is the
 * limit that was exceeded.
 *
 * @example
 * ```ts
 * await fanOut(urls, fetchOne, { timeout: 5_000 }) // may reject with TimeoutError
 * ```
 */
export class TimeoutError extends FanoutError {
  override readonly code = 'ERR_FANOUT_TIMEOUT';
  /** The time limit in milliseconds. */
  readonly ms: number;
  constructor(ms: number, message = `timed out after ${ms} ms`, options?: FanoutErrorOptions) {
    super(message, options);
    this.ms = ms;
  }
}

/**
 * AggregateTaskError is what a call with `failFast: false` rejects with when
 * tasks failed: `errors` holds every task's error in task order, and
 * `indices[i]` is the index of the task that threw `errors[i]`.
 *
 * @example
 * ```ts
 * try { await fanOut(items, work, { failFast: false }) } catch (err) {
 *   if (err instanceof AggregateTaskError) console.log(err.indices, err.errors)
 * }
 * ```
 */
export class AggregateTaskError extends AggregateError {
  readonly code = 'ERR_FANOUT_AGGREGATE';
  /** The index of the task behind each entry of `errors`. */
  readonly indices: number[];
  constructor(errors: unknown[], indices: number[], total: number) {
    super(errors, `${errors.length} of ${total} tasks failed`);
    this.name = 'AggregateTaskError';
    this.indices = indices;
  }
}

/**
 * ChannelClosedError is thrown by a send on a closed channel, by a second
 * `close()`, and by every send that was waiting when the channel closed.
 *
 * @example
 * ```ts
 * ch.close()
 * await ch.send(1) // rejects with ChannelClosedError
 * ```
 */
export class ChannelClosedError extends FanoutError {
  override readonly code = 'ERR_FANOUT_CHANNEL_CLOSED';
  constructor(message = 'channel is closed', options?: FanoutErrorOptions) {
    super(message, options);
  }
}

/**
 * WorkerExitedError fails the tasks a worker held when it died (a crash,
 * `process.exit`, running out of memory, or being terminated after ignoring
 * its signal); `exitCode` is the worker's exit code.
 *
 * @example
 * ```ts
 * try { await fanOut(inputs, pool.task('resize')) } catch (err) {
 *   if (err instanceof WorkerExitedError) console.error('worker died with', err.exitCode)
 * }
 * ```
 */
export class WorkerExitedError extends FanoutError {
  override readonly code = 'ERR_FANOUT_WORKER_EXITED';
  /** The exit code of the worker, when known. */
  readonly exitCode: number | undefined;
  constructor(message: string, exitCode?: number, options?: FanoutErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/**
 * RemoteTaskError carries an error thrown by a task on another thread or
 * machine whose class could not be recreated here: `remoteName`, `message`,
 * `stack` (the remote one), `remoteCode` and `cause` are those of the original.
 *
 * @example
 * ```ts
 * catch (err) { if (err instanceof RemoteTaskError) console.error(err.remoteName, err.stack) }
 * ```
 */
export class RemoteTaskError extends FanoutError {
  override readonly code = 'ERR_FANOUT_REMOTE_TASK';
  /** The `name` of the original error. */
  readonly remoteName: string;
  /** The `code` of the original error, if it had one. */
  readonly remoteCode: unknown;
  constructor(
    remoteName: string,
    message: string,
    remoteCode?: unknown,
    options?: FanoutErrorOptions,
  ) {
    super(message, options);
    this.remoteName = remoteName;
    this.remoteCode = remoteCode;
  }
}

/**
 * SerializationError fails a task whose input or output cannot cross a
 * thread or machine boundary: it cannot be cloned or serialised, or it is
 * larger than the configured limit.
 *
 * @example
 * ```ts
 * await fanOut([() => 1], pool.task('run')) // functions cannot be cloned: SerializationError
 * ```
 */
export class SerializationError extends FanoutError {
  override readonly code = 'ERR_FANOUT_SERIALIZATION';
}

/**
 * TaskModuleError is raised when a task module cannot be loaded, or names
 * a task it does not export; `module` and `task` say which.
 *
 * @example
 * ```ts
 * threadPool({ module: './missing.js' }) // TaskModuleError once started
 * ```
 */
export class TaskModuleError extends FanoutError {
  override readonly code = 'ERR_FANOUT_TASK_MODULE';
  /** The module's URL or path. */
  readonly module: string;
  /** The export that was asked for, if the error is about one. */
  readonly task: string | undefined;
  constructor(message: string, module: string, task?: string, options?: FanoutErrorOptions) {
    super(message, options);
    this.module = module;
    this.task = task;
  }
}
