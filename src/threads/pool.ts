import { availableParallelism } from 'node:os';
import type { ResourceLimits } from 'node:worker_threads';
import { MAX_TIMER } from '../internal/abort.ts';
import { moduleUrl } from '../internal/task-module.ts';
import { checkDuration, checkObject, checkSignal, checkString } from '../internal/validate.ts';
import type { TaskContext } from '../task.ts';
import { Scheduler } from './internal/scheduler.ts';
import type { Transfer } from './transfer.ts';

/**
 * ThreadPoolOptions configure a {@link threadPool}; only `module` is
 * required. Each option is checked when the pool is made.
 *
 * @example
 * ```ts
 * threadPool({ module: './tasks.js', size: 4, setup: './otel.js', abortGrace: 1_000 })
 * ```
 */
export interface ThreadPoolOptions {
  /**
   * The task module: a file URL, or a path (relative to the working
   * directory). Its function exports are the tasks, with those of a
   * CommonJS `module.exports` object; the same as for fanout/bullmq.
   */
  module: string | URL;
  /** Number of threads: an integer >= 1. Default: `os.availableParallelism()`. */
  size?: number;
  /**
   * A module every thread imports before the task module, e.g. to register
   * an OpenTelemetry SDK so that spans made in tasks join the caller's trace.
   */
  setup?: string | URL;
  /**
   * How long (ms) a task may keep running after its signal aborted before
   * its thread is terminated and replaced. Default 5000.
   */
  abortGrace?: number;
  /** Memory limits of each thread (see `worker_threads.ResourceLimits`). */
  resourceLimits?: ResourceLimits;
}

/**
 * ThreadTask runs a named export of a pool's module on one of its threads
 * and resolves with its result; made by `pool.task(name)`. `input` may be
 * wrapped by `transfer()`; `ctx` is optional: fanOut, Group callers or
 * pipeline stages pass `{ signal, index, attempt }`, and the export receives
 * the same.
 *
 * @example
 * ```ts
 * const resize: ThreadTask<Image, Image> = pool.task('resize')
 * const small = await resize(image, { signal: AbortSignal.timeout(5_000) })
 * ```
 */
export type ThreadTask<I, O> = (input: I | Transfer<I>, ctx?: Partial<TaskContext>) => Promise<O>;

/**
 * ThreadPool is a pool of worker threads running the tasks of one module;
 * made by {@link threadPool}. See there for its scheduling, cancellation
 * and error rules.
 *
 * @example
 * ```ts
 * await using pool = threadPool({ module: './tasks.js' })
 * await pool.ready() // fail early if the module does not load
 * const outs = await fanOut(inputs, pool.task('work'), { concurrency: 256 })
 * ```
 */
export interface ThreadPool extends AsyncDisposable {
  /** The number of threads. */
  readonly size: number;
  /** The task module's URL. */
  readonly module: string;
  /**
   * task returns a function that runs the export `name` on a thread with
   * the input and context it is given, and resolves with the export's result.
   */
  task<I = unknown, O = unknown>(name: string): ThreadTask<I, O>;
  /**
   * ready resolves once every thread has loaded the setup and task
   * modules; it rejects with a TaskModuleError when they cannot load.
   */
  ready(): Promise<void>;
  /**
   * close lets the tasks already handed to the pool finish, then ends
   * every thread, and resolves when they are gone. Tasks handed to the pool
   * after close reject with a CancelledError. When `options.signal` aborts
   * before the tasks finish, they reject with its reason and the threads
   * are terminated at once (an already-aborted signal does that
   * immediately). Every call returns the same promise.
   *
   * @throws TypeError for a bad `options.signal`.
   */
  close(options?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * threadPool starts `size` worker threads that run the named exports of a
 * task module, and returns the pool; `pool.task(name)` makes a task function
 * for fanOut, a Group or a pipeline stage, so CPU-bound work uses every core
 * with the usual cancellation, error and ordering rules.
 *
 * The threads start at once, in the background; tasks handed to the pool
 * before they are ready wait for them. Tasks dispatched close together (in
 * the same tick) travel to a thread in one message and their results come
 * back together; work goes to the least loaded thread, and a thread holds
 * only about 2 ms of queued work, so none idles while another has some.
 *
 * Cancellation: when the signal passed in a task's context aborts, the task
 * is dropped if it has not started, and otherwise its `ctx.signal` in the
 * thread aborts, also for CPU-bound code that only polls
 * `ctx.signal.aborted` (the flag lives in shared memory). A task still
 * running `abortGrace` ms later has its thread terminated and replaced; the
 * task rejects with the caller's abort reason. An already-aborted signal
 * starts nothing. One abort listener per caller signal, removed when its
 * tasks settle.
 *
 * Errors: a task's error comes back with its name, message, remote stack,
 * `code`, `cause` and primitive properties: as the built-in class it was
 * (`Error`, `TypeError`, ...) or as a RemoteTaskError (`remoteName`,
 * `remoteCode`). A thread that dies (uncaught error, `process.exit`, out of
 * memory) fails the tasks it held with a WorkerExitedError and is replaced.
 * Input or output that cannot be cloned fails that task with a
 * SerializationError. A setup or task module that cannot load, or a missing
 * export, fails tasks with a TaskModuleError naming the module and export.
 *
 * TypeScript task modules work when the program runs through tsx (each
 * thread registers tsx itself); compiled JavaScript needs nothing. An idle
 * pool does not keep the process alive; close it (or `await using` it) to
 * end its threads.
 *
 * @throws TypeError or RangeError for bad options.
 * @example
 * ```ts
 * import { fanOut } from 'fanout'
 * import { threadPool } from 'fanout/threads'
 *
 * await using pool = threadPool({ module: new URL('./tasks.js', import.meta.url) })
 * const digests = await fanOut(files, pool.task<string, string>('sha256'), { concurrency: 64 })
 * ```
 */
export function threadPool(options: ThreadPoolOptions): ThreadPool {
  const api = 'threadPool';
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${api}: options must be an object with a module, got ${String(options)}`);
  }
  const module = moduleArg(api, 'options.module', options.module);
  const setup =
    options.setup === undefined ? undefined : moduleArg(api, 'options.setup', options.setup);
  const size = options.size ?? availableParallelism();
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
    const shown = typeof size === 'string' ? JSON.stringify(size) : String(size);
    const Err = typeof size === 'number' ? RangeError : TypeError;
    throw new Err(`${api}: options.size must be an integer >= 1, got ${shown}`);
  }
  checkDuration(api, 'options.abortGrace', options.abortGrace);
  checkObject(api, 'options.resourceLimits', options.resourceLimits);
  const scheduler = new Scheduler({
    module,
    setup,
    size,
    abortGrace: Math.min(options.abortGrace ?? 5000, MAX_TIMER),
    resourceLimits: options.resourceLimits,
  });
  return new Pool(scheduler, size, module);
}

class Pool implements ThreadPool {
  constructor(
    private readonly scheduler: Scheduler,
    readonly size: number,
    readonly module: string,
  ) {}

  task<I = unknown, O = unknown>(name: string): ThreadTask<I, O> {
    if (typeof name !== 'string' || name === '') {
      checkString('pool.task', 'name', name);
      throw new TypeError('pool.task: name must be the name of an export, got ""');
    }
    const scheduler = this.scheduler;
    return (input, ctx) => scheduler.submit(name, input, ctx) as Promise<O>;
  }

  ready(): Promise<void> {
    return this.scheduler.ready.promise;
  }

  close(options?: { signal?: AbortSignal }): Promise<void> {
    checkObject('pool.close', 'options', options);
    checkSignal('pool.close', 'options.signal', options?.signal);
    return this.scheduler.close(options?.signal);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** The URL string of a module option, `value`: a URL or a path. */
function moduleArg(api: string, arg: string, value: unknown): string {
  if (!(value instanceof URL) && (typeof value !== 'string' || value === '')) {
    const shown = typeof value === 'string' ? '""' : value === null ? 'null' : typeof value;
    throw new TypeError(`${api}: ${arg} must be a file URL or a path, got ${shown}`);
  }
  return moduleUrl(value);
}
