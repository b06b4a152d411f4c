// The worker's side of fanout/bullmq: a BullMQ Worker that runs the named
// exports of a task module, with a signal that callers on other machines
// can abort.
//
// Each result is added to its caller's results stream before the job is
// marked finished. The add is sent, not awaited: it goes down the same
// connection as BullMQ's moveToFinished, sent later, so Redis runs it
// first, and a worker that dies in between leaves a stalled job that
// another worker runs again (the caller drops the second result).

import { type Job, UnrecoverableError, WaitingError, Worker } from 'bullmq';
import {
  CancelledError,
  SerializationError,
  TaskModuleError,
  WorkerExitedError,
} from '../errors.ts';
import { cancelledByCaller, MAX_TIMER } from '../internal/abort.ts';
import { encode as encodeError } from '../internal/error-codec.ts';
import { LazySignal } from '../internal/lazy-signal.ts';
import { loadTaskModule, type ModuleTask, noTaskError } from '../internal/task-module.ts';
import { checkObject, checkOptionalFunction } from '../internal/validate.ts';
import type { TaskContext } from '../task.ts';
import { withTraceContext } from '../tracing/propagation.ts';
import type { ClusterConnection, ConnectionOptions } from './connection.ts';
import { DEFAULT_MAX_PAYLOAD, encode } from './internal/codec.ts';
import { callerKey, cancelChannel, queueBase } from './internal/keys.ts';
import {
  checkConnection,
  checkInteger,
  checkLimit,
  checkPrefix,
  checkQueue,
} from './internal/options.ts';
import { errorMessage, type JobData, valueMessage } from './internal/protocol.ts';
import { type Client, createClient } from './internal/redis.ts';

/**
 * RemoteTaskContext is what a task running under {@link serveTasks}
 * receives: `signal` aborts when its caller cancels it (on any machine),
 * when the caller's process dies, or when the worker hands the job back
 * on close; `index` is the task's index in the caller's call; `attempt`
 * counts BullMQ attempts from 1; `key` is an idempotency key, the same
 * for every attempt and redelivery of the task (delivery is at least once).
 *
 * @example
 * ```ts
 * export async function charge(order: Order, { signal, key }: RemoteTaskContext) {
 *   return payments.charge(order, { idempotencyKey: key, signal })
 * }
 * ```
 */
export interface RemoteTaskContext extends TaskContext {
  readonly key: string;
}

/** A running job and what cancels it; its signal is made only when the task reads `ctx.signal`. */
class Running extends LazySignal {
  handBack = false;
  constructor(
    readonly caller: string,
    readonly group: number,
  ) {
    super();
  }
}

/** What the task sees; the job's state stays out of its reach. */
class RemoteContext implements RemoteTaskContext {
  readonly #job: Running;
  constructor(
    job: Running,
    readonly index: number,
    readonly attempt: number,
    readonly key: string,
  ) {
    this.#job = job;
  }

  get signal(): AbortSignal {
    return this.#job.signal;
  }
}

/** Options of {@link serveTasks}. */
export interface ServeTasksOptions {
  /** The task module: a path (against the working directory), a `file:` URL string or a URL. */
  module: string | URL;
  /** ioredis options (host, port, username, password, db, tls...; see connectionFromUrl), or a {@link ClusterConnection}. */
  connection: ConnectionOptions | ClusterConnection;
  /** The BullMQ queue to take jobs from (no ':'). */
  queue: string;
  /** Jobs run at once in this process (default 1). */
  concurrency?: number;
  /** The key prefix, as given to bullmqExecutor (default `'fanout'`). */
  prefix?: string;
  /** The largest output, in bytes of JSON (default 1 MiB; a caller's lower limit wins). */
  maxPayload?: number;
  /** BullMQ's job lock in ms (default 30 000): a dead worker's jobs move on within about this. */
  lockDuration?: number;
  /** BullMQ's check for stalled jobs, every this many ms (default 30 000). */
  stalledInterval?: number;
  /** Times a job whose worker died is run again before it fails with WorkerExitedError (default 1). */
  maxRedeliveries?: number;
  /** How often to check that the callers of running jobs are alive, in ms (default 1 000). */
  livenessInterval?: number;
  /** Called with Redis and BullMQ errors that fail no task (default: written to stderr). */
  onError?: (error: unknown) => void;
}

/** A running {@link serveTasks} worker. */
export interface TaskServer {
  /** The queue's name. */
  readonly queue: string;
  /** The names of the tasks the module exports. */
  readonly tasks: readonly string[];
  /**
   * close stops taking jobs and waits for the running ones to finish. After
   * `timeout` ms (default Infinity; 0: at once) it aborts their signals
   * and hands the jobs that then fail back to the queue, for another
   * worker to run; it resolves once they are back, and the Redis
   * connections are closed. Calling it again returns the same promise.
   */
  close(options?: { timeout?: number }): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * serveTasks loads a task module and runs its named exports as the jobs of
 * a BullMQ queue that {@link bullmqExecutor} callers fill, on any machine.
 *
 * Every export that is a function is a task, and so is every function of a
 * CommonJS `module.exports` object, as for fanout/threads: `async (input,
 * ctx) => output` with a {@link RemoteTaskContext}. A job may only name one
 * of them (they are looked up in a Map built at load): any
 * other name fails that task with TaskModuleError, and nothing in a job's
 * data is ever evaluated. Up to `concurrency` jobs run at once. A task's
 * `ctx.signal` aborts when its caller cancels it, or when its caller's
 * process is gone (then the result is dropped). A failed task is tried
 * again while BullMQ attempts remain (a cancelled one never is); its final
 * error goes back to the caller with name, message, stack and `code`. An
 * output JSON cannot carry, or larger than `maxPayload`, fails the task
 * with SerializationError. When this process dies, BullMQ's stall check
 * gives its jobs to another worker after about `lockDuration` ms.
 *
 * It resolves once the module is loaded and the worker is connected.
 *
 * @throws TypeError or RangeError for a bad option; TaskModuleError (as a
 *   rejection) when the module cannot be loaded or exports no function.
 * @example
 * ```ts
 * const server = await serveTasks({
 *   module: new URL('./tasks.js', import.meta.url),
 *   connection: connectionFromUrl('redis://127.0.0.1:6379'),
 *   queue: 'images',
 *   concurrency: 8,
 * })
 * process.once('SIGTERM', () => server.close({ timeout: 10_000 }))
 * ```
 */
export async function serveTasks(options: ServeTasksOptions): Promise<TaskServer> {
  const api = 'serveTasks';
  checkObject(api, 'options', options);
  if (options === undefined) throw new TypeError(`${api}: options are required`);
  const m = options.module;
  if (!(typeof m === 'string' && m !== '') && !(m instanceof URL)) {
    throw new TypeError(
      `${api}: options.module must be a path or a URL, got ${JSON.stringify(m) ?? String(m)}`,
    );
  }
  checkConnection(api, options.connection);
  checkQueue(api, options.queue);
  checkPrefix(api, options.prefix);
  checkLimit(api, 'options.concurrency', options.concurrency);
  if (options.concurrency === Number.POSITIVE_INFINITY) {
    throw new RangeError(`${api}: options.concurrency must be finite, got Infinity`);
  }
  checkInteger(api, 'options.maxPayload', options.maxPayload, 1);
  checkInteger(api, 'options.lockDuration', options.lockDuration, 100);
  checkInteger(api, 'options.stalledInterval', options.stalledInterval, 100);
  checkInteger(api, 'options.maxRedeliveries', options.maxRedeliveries, 0);
  checkInteger(api, 'options.livenessInterval', options.livenessInterval, 10);
  checkOptionalFunction(api, 'options.onError', options.onError);
  const { url, tasks } = await loadTaskModule(m);
  if (tasks.size === 0)
    throw new TaskModuleError(`the task module ${url} exports no functions`, url);
  const server = new Server(options, tasks, url);
  await server.start();
  return server;
}

/** What this worker knows about one caller. */
class Caller {
  /** When its heartbeat was last seen (0: never). */
  seen = 0;
  checking: Promise<boolean> | undefined;
  constructor(readonly key: string) {}
}

const FORGET_CANCELLED = 60_000;

class Server implements TaskServer {
  readonly queue: string;
  readonly tasks: readonly string[];
  private readonly client: Client;
  private readonly sub: Client;
  private worker!: Worker;
  private readonly base: string;
  private readonly active = new Map<string, Running>();
  private readonly callers = new Map<string, Caller>();
  private readonly cancelled = new Map<string, number>();
  private readonly reports = new Map<string, string[]>();
  private flushing = false;
  private readonly maxPayload: number;
  private readonly maxRedeliveries: number;
  private readonly interval: number;
  private readonly onError: (error: unknown) => void;
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: ServeTasksOptions,
    private readonly fns: ReadonlyMap<string, ModuleTask>,
    private readonly url: string,
  ) {
    this.queue = options.queue;
    this.tasks = [...fns.keys()];
    this.base = queueBase(options.prefix ?? 'fanout', options.queue);
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.maxRedeliveries = options.maxRedeliveries ?? 1;
    this.interval = options.livenessInterval ?? 1_000;
    this.onError = options.onError ?? ((err) => console.error('fanout/bullmq worker:', err));
    // BullMQ requires workers' connections to retry commands forever.
    this.client = createClient(options.connection, true);
    this.client.on('error', this.onError);
    this.sub = this.client.duplicate();
    this.sub.on('error', this.onError);
  }

  async start(): Promise<void> {
    try {
      this.sub.on('message', this.onCancel);
      await this.sub.subscribe(cancelChannel(this.base));
      const o = this.options;
      this.worker = new Worker(this.queue, this.process, {
        connection: this.client,
        prefix: o.prefix ?? 'fanout',
        concurrency: o.concurrency ?? 1,
        lockDuration: o.lockDuration ?? 30_000,
        stalledInterval: o.stalledInterval ?? 30_000,
        // One more than ours, so that our processor sees the job first and
        // can tell its caller; BullMQ would fail it without a word.
        maxStalledCount: this.maxRedeliveries + 1,
      });
      this.worker.on('error', this.onError);
      this.worker.on('failed', this.onFailed);
      await this.worker.waitUntilReady();
      this.timer = setInterval(this.monitor, this.interval);
      this.timer.unref();
    } catch (err) {
      await this.release();
      throw err;
    }
  }

  private readonly process = async (job: Job, token?: string): Promise<void> => {
    const d = job.data as JobData;
    const id = job.id as string;
    if (d === null || typeof d !== 'object' || typeof d.c !== 'string') {
      throw new UnrecoverableError('not a fanout job: its data names no caller');
    }
    const caller = this.caller(d.c);
    if (Date.now() - caller.seen > this.interval && !(await this.check(d.c, caller))) {
      throw new UnrecoverableError('dropped: the caller is gone');
    }
    const key = caller.key;
    if (this.cancelled.size > 0 && this.cancelled.has(`${d.c}/${d.g}`)) {
      return this.fail(key, id, cancelledByCaller(), true);
    }
    const fn = this.fns.get(job.name);
    if (fn === undefined) {
      return this.fail(key, id, noTaskError(this.url, job.name, this.tasks), false);
    }
    if (job.stalledCounter > this.maxRedeliveries) {
      const error = new WorkerExitedError(
        `the workers running this job died ${job.stalledCounter} times; giving up`,
      );
      return this.fail(key, id, error, false);
    }
    let input: unknown;
    try {
      input = d.i === undefined ? undefined : JSON.parse(d.i);
    } catch (err) {
      return this.fail(
        key,
        id,
        new SerializationError('the input is not valid JSON', { cause: err }),
        false,
      );
    }
    const active = new Running(d.c, d.g);
    const ctx = new RemoteContext(active, d.x, job.attemptsMade + 1, d.k ?? id);
    this.active.set(id, active);
    let value: unknown;
    try {
      value = await (d.t === undefined
        ? fn(input, ctx)
        : withTraceContext(d.t, () => fn(input, ctx)));
    } catch (err) {
      if (active.handBack) {
        await job.moveToWait(token);
        throw new WaitingError();
      }
      const cancelled = active.aborted;
      if (!cancelled && job.attemptsMade + 1 < (job.opts.attempts ?? 1)) {
        // BullMQ tries again after the backoff, on any worker.
        throw err instanceof Error ? err : new Error(String(err));
      }
      return this.fail(key, id, err, cancelled);
    } finally {
      this.active.delete(id);
    }
    let json: string | undefined;
    try {
      json = encode('output', value, Math.min(this.maxPayload, d.m ?? this.maxPayload));
    } catch (err) {
      return this.fail(key, id, err, false);
    }
    this.report(key, valueMessage(id, json));
  };

  /** Tells the caller, then fails the job for BullMQ without another attempt. */
  private fail(key: string, id: string, error: unknown, cancelled: boolean): never {
    this.report(key, errorMessage(id, encodeError(error, true), cancelled));
    throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
  }

  /**
   * Queues a result for the caller's stream. The results of one tick go as
   * one XADD per caller, sent before any of their jobs' moveToFinished:
   * BullMQ sends that only after the processor's promise settles, which
   * is microtasks after this one, queued later than the flush.
   */
  private report(key: string, message: string): void {
    const batch = this.reports.get(key);
    if (batch === undefined) this.reports.set(key, ['m', message]);
    else batch.push('m', message);
    if (!this.flushing) {
      this.flushing = true;
      queueMicrotask(this.flushReports);
    }
  }

  /** Adds to each stream only if it still exists: a gone caller gets nothing. */
  private readonly flushReports = (): void => {
    this.flushing = false;
    for (const [key, fields] of this.reports) {
      this.client.xadd(key, 'NOMKSTREAM', '*', ...fields).catch(this.onError);
    }
    this.reports.clear();
  };

  private caller(id: string): Caller {
    let c = this.callers.get(id);
    if (c === undefined) {
      c = new Caller(callerKey(this.base, id));
      this.callers.set(id, c);
    }
    return c;
  }

  /** Whether the caller's heartbeat lives; one question in flight per caller. */
  private check(id: string, c: Caller): Promise<boolean> {
    c.checking ??= this.client.exists(c.key).then(
      (n) => {
        c.checking = undefined;
        if (n === 1) c.seen = Date.now();
        else this.callers.delete(id);
        return n === 1;
      },
      (err) => {
        c.checking = undefined;
        throw err;
      },
    );
    return c.checking;
  }

  private readonly onCancel = (_channel: string, message: string): void => {
    this.cancelled.set(message, Date.now());
    const slash = message.lastIndexOf('/');
    const caller = message.slice(0, slash);
    const group = Number(message.slice(slash + 1));
    for (const a of this.active.values()) {
      if (a.group === group && a.caller === caller) {
        a.abort(cancelledByCaller());
      }
    }
  };

  /** A job BullMQ failed itself (stalled too often): its caller still gets an answer. */
  private readonly onFailed = (job: Job | undefined): void => {
    const d = job?.data as JobData | undefined;
    if (!job?.deferredFailure || typeof d?.c !== 'string') return;
    const error = new WorkerExitedError(`the job failed: ${job.deferredFailure}`);
    this.report(
      this.caller(d.c).key,
      errorMessage(job.id as string, encodeError(error, true), false),
    );
  };

  /** Aborts the jobs of callers that died, and forgets old cancellations. */
  private readonly monitor = (): void => {
    const now = Date.now();
    for (const [key, at] of this.cancelled) {
      if (now - at > FORGET_CANCELLED) this.cancelled.delete(key);
    }
    const running = new Set<string>();
    for (const a of this.active.values()) running.add(a.caller);
    for (const [id, c] of this.callers) {
      if (!running.has(id) && now - c.seen > FORGET_CANCELLED) this.callers.delete(id);
    }
    for (const id of running) {
      this.check(id, this.caller(id)).then((alive) => {
        if (alive) return;
        for (const a of this.active.values()) {
          if (a.caller === id) a.abort(new CancelledError('the caller is gone'));
        }
      }, this.onError);
    }
  };

  close(options?: { timeout?: number }): Promise<void> {
    checkObject('TaskServer.close', 'options', options);
    const timeout = options?.timeout ?? Number.POSITIVE_INFINITY;
    if (typeof timeout !== 'number' || Number.isNaN(timeout) || timeout < 0) {
      throw new RangeError(
        `TaskServer.close: options.timeout must be 0 or more milliseconds, got ${String(timeout)}`,
      );
    }
    this.closing ??= this.shutdown(timeout);
    return this.closing;
  }

  private async shutdown(timeout: number): Promise<void> {
    const closed = this.worker.close();
    let timer: NodeJS.Timeout | undefined;
    if (timeout === 0) this.handBack();
    else if (timeout <= MAX_TIMER) timer = setTimeout(() => this.handBack(), timeout);
    try {
      await closed;
    } finally {
      clearTimeout(timer);
      await this.release();
    }
  }

  private handBack(): void {
    for (const a of this.active.values()) {
      a.handBack = true;
      a.abort(new CancelledError('the worker is closing; the job goes back to the queue'));
    }
  }

  private async release(): Promise<void> {
    clearInterval(this.timer);
    this.sub.disconnect();
    await this.client.quit().catch(() => this.client.disconnect());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
