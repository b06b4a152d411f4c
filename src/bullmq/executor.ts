// The caller's side of fanout/bullmq: a task function that runs its task as
// a BullMQ job on whichever serveTasks worker takes it.
//
// How a result finds its way back: every executor has a caller id and, while
// it has jobs out, a Redis stream under that id with a short TTL that it
// keeps renewing: the stream is both its heartbeat and its inbox. Workers
// add each result to it (XADD NOMKSTREAM: never to a caller that is gone)
// before BullMQ marks the job finished; one blocking reader per executor
// reads them in batches and settles the task by job id. A job that runs
// twice (its worker died after reporting) reports twice; the second is
// dropped because its id is no longer pending: the caller sees one result.
//
// Tasks called in the same tick are added with one addBulk. Cancellation
// goes by AbortSignal: all tasks that share a signal (a fanOut call) form a
// group with one abort listener; on abort, waiting jobs are removed and one
// pub/sub message tells every worker to abort that group's active jobs.

import { type JobsOptions, Queue } from 'bullmq';
import { CancelledError, FanoutError } from '../errors.ts';
import { noop } from '../internal/abort.ts';
import { decode as decodeError } from '../internal/error-codec.ts';
import { type GroupMember, SignalGroup, SignalGroups } from '../internal/signal-group.ts';
import {
  checkFunction,
  checkObject,
  checkOptionalFunction,
  checkString,
} from '../internal/validate.ts';
import type { TaskContext } from '../task.ts';
import { injectTraceContext } from '../tracing/propagation.ts';
import type { ClusterConnection, ConnectionOptions } from './connection.ts';
import { DEFAULT_MAX_PAYLOAD, encode } from './internal/codec.ts';
import { randomId } from './internal/id.ts';
import { callerKey, cancelChannel, queueBase } from './internal/keys.ts';
import {
  type Backoff,
  checkConnection,
  checkInteger,
  checkPrefix,
  checkQueue,
  checkRetry,
} from './internal/options.ts';
import { cancelMessage, type JobData, type ResultMessage } from './internal/protocol.ts';
import { type Client, createClient } from './internal/redis.ts';

/** Options of {@link bullmqExecutor}. */
export interface BullmqExecutorOptions {
  /** ioredis options (host, port, username, password, db, tls...; see connectionFromUrl), or a {@link ClusterConnection}. */
  connection: ConnectionOptions | ClusterConnection;
  /** The BullMQ queue the workers serve (no ':'). */
  queue: string;
  /** The key prefix, as given to serveTasks (default `'fanout'`). */
  prefix?: string;
  /** Tries per task, as BullMQ attempts (default 1); see {@link RemoteTaskOptions}. */
  attempts?: number;
  /** BullMQ's backoff between attempts: ms, or `{ type: 'fixed' | 'exponential', delay }`. */
  backoff?: Backoff;
  /** The largest input, in bytes of JSON (default 1 MiB); outputs too, unless the worker's is lower. */
  maxPayload?: number;
  /**
   * How long workers trust this process to be alive without news, in ms
   * (default 10 000): when it dies, its jobs are dropped within about that.
   */
  heartbeat?: number;
  /** Called with Redis errors that fail no task (default: written to stderr). */
  onError?: (error: unknown) => void;
}

/** Per-task options of {@link BullmqExecutor.task}. */
export interface RemoteTaskOptions<I> {
  /** Tries of each task, as BullMQ attempts with `backoff` between them (default: the executor's). */
  attempts?: number;
  /** Delay between tries (default: the executor's; none when neither sets it). */
  backoff?: Backoff;
  /**
   * The idempotency key the worker sees as `ctx.key` (default: the job id,
   * stable over every attempt and redelivery of the job).
   */
  key?: (input: I, ctx: TaskContext) => string;
}

/** A task function whose work runs on a worker: `(input, ctx) => Promise<output>`. */
export type RemoteTask<I, O> = (input: I, ctx?: TaskContext) => Promise<O>;

/** The caller's side of fanout/bullmq; see {@link bullmqExecutor}. */
export interface BullmqExecutor {
  /** The queue's name. */
  readonly queue: string;
  /**
   * task returns a task function that runs the module export `name` on a
   * worker, for fanOut, Group or a pipeline stage. Its promise settles
   * once the job has settled or was withdrawn; when `ctx.signal` aborts,
   * a waiting job is withdrawn and a running one sees its own `ctx.signal`
   * abort, and the promise rejects with `ctx.signal.reason` (unless the
   * task finished first). Remote errors come back with their name,
   * message, stack and `code` (fanout's and built-in classes as
   * themselves, others as RemoteTaskError); an input JSON cannot carry, or
   * larger than `maxPayload`, rejects with SerializationError before any
   * job is added. A worker that does not export `name` fails the task with
   * TaskModuleError.
   */
  task<I = unknown, O = unknown>(name: string, options?: RemoteTaskOptions<I>): RemoteTask<I, O>;
  /**
   * close cancels the tasks still out (they reject with a CancelledError),
   * waits until they settle, removes this executor's keys and closes its
   * Redis connections. Calling it again returns the same promise.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * bullmqExecutor returns an executor whose `task(name)` runs tasks as
 * BullMQ jobs on the workers that {@link serveTasks} runs on any machine.
 *
 * It connects to Redis at once (two connections: commands, and a blocking
 * reader for results) and does not block. Tasks started in the same tick
 * are added with one `addBulk`; at most as many jobs are out as the calling
 * fanOut's `concurrency`. Results reach exactly the task that sent the job,
 * once, even when a job runs twice because a worker died. While jobs are
 * out it keeps a heartbeat key; if this process dies, workers drop its
 * jobs within `heartbeat` ms. A call leaves no keys behind: jobs are
 * removed when they finish, and the heartbeat and results keys when the
 * executor has nothing out.
 *
 * @throws TypeError or RangeError for a bad option, naming it.
 * @example
 * ```ts
 * const cluster = bullmqExecutor({ connection: connectionFromUrl('redis://127.0.0.1:6379'), queue: 'images' })
 * try {
 *   const thumbs = await fanOut(images, cluster.task('resize'), { concurrency: 1000 })
 * } finally {
 *   await cluster.close()
 * }
 * ```
 */
export function bullmqExecutor(options: BullmqExecutorOptions): BullmqExecutor {
  const api = 'bullmqExecutor';
  checkObject(api, 'options', options);
  if (options === undefined) throw new TypeError(`${api}: options are required`);
  checkConnection(api, options.connection);
  checkQueue(api, options.queue);
  checkPrefix(api, options.prefix);
  checkRetry(api, 'options.', options.attempts, options.backoff);
  checkInteger(api, 'options.maxPayload', options.maxPayload, 1);
  checkInteger(api, 'options.heartbeat', options.heartbeat, 100);
  checkOptionalFunction(api, 'options.onError', options.onError);
  return new Executor(options);
}

const BUFFERED = 0;
const ADDING = 1;
const QUEUED = 2;
const DONE = 3;

/** The tasks that share one AbortSignal (the group's id goes in their jobs' data). */
type Group = SignalGroup<Pending>;

/** One task on its way: buffered, being added, or out as a job. */
class Pending implements GroupMember<Pending> {
  state = BUFFERED;
  /** Withdraw as soon as the add completes. */
  withdraw = false;
  // Links in its group, from the call until the task settles.
  prev: Pending | undefined = undefined;
  next: Pending | undefined = undefined;
  group: Group | undefined = undefined;
  constructor(
    readonly id: string,
    readonly name: string,
    readonly data: JobData,
    readonly opts: JobsOptions,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
  ) {}
}

const READ_BATCH = 1000;

class Executor implements BullmqExecutor {
  readonly queue: string;
  private readonly bull: Queue;
  private readonly cmd: Client;
  private reader: Client | undefined;
  private readonly base: string;
  private readonly channel: string;
  private readonly connection: ConnectionOptions | ClusterConnection;
  private readonly ttl: number;
  private readonly maxPayload: number;
  private readonly onError: (error: unknown) => void;
  private readonly defaults: JobsOptions;
  private caller = '';
  private key = '';
  /** The last stream entry read. */
  private lastId = '0-0';
  private seq = 0;
  private readonly pending = new Map<string, Pending>();
  private buffer: Pending[] = [];
  private flushScheduled = false;
  private readonly groups = new SignalGroups<Pending>((g) => this.cancel(g, g.signal!.reason));
  private readonly unsignalled: Group = new SignalGroup(undefined);
  private reading = false;
  private beating = false;
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = 0;
  private idleScheduled = false;
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(options: BullmqExecutorOptions) {
    this.queue = options.queue;
    this.connection = options.connection;
    this.base = queueBase(options.prefix ?? 'fanout', options.queue);
    this.channel = cancelChannel(this.base);
    this.ttl = options.heartbeat ?? 10_000;
    this.maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    this.onError = options.onError ?? ((err) => console.error('fanout/bullmq executor:', err));
    this.defaults = jobOptions(options.attempts, options.backoff);
    this.rotate();
    this.cmd = createClient(options.connection, false);
    this.cmd.on('error', this.onError);
    this.bull = new Queue(options.queue, {
      connection: this.cmd,
      prefix: options.prefix ?? 'fanout',
    });
    this.bull.on('error', this.onError);
  }

  task<I = unknown, O = unknown>(name: string, options?: RemoteTaskOptions<I>): RemoteTask<I, O> {
    const api = 'bullmqExecutor.task';
    checkString(api, 'name', name);
    if (name === '') throw new TypeError(`${api}: name must be a non-empty string, got ""`);
    checkObject(api, 'options', options);
    const o = options ?? {};
    checkRetry(api, 'options.', o.attempts, o.backoff);
    if (o.key !== undefined) checkFunction(api, 'options.key', o.key);
    const opts =
      o.attempts === undefined && o.backoff === undefined
        ? this.defaults
        : jobOptions(
            o.attempts ?? this.defaults.attempts,
            o.backoff ?? (this.defaults.backoff as Backoff | undefined),
          );
    const key = o.key;
    return (input: I, ctx?: TaskContext) => this.run(name, input, ctx, opts, key) as Promise<O>;
  }

  private run<I>(
    name: string,
    input: I,
    ctx: TaskContext | undefined,
    opts: JobsOptions,
    key: ((input: I, ctx: TaskContext) => string) | undefined,
  ): Promise<unknown> {
    const signal = ctx?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.closing)
      return Promise.reject(new FanoutError('bullmqExecutor: the executor is closed'));
    let data: JobData;
    try {
      data = { c: this.caller, g: 0, x: ctx?.index ?? 0 };
      const json = encode('input', input, this.maxPayload);
      if (json !== undefined) data.i = json;
      const trace = injectTraceContext();
      if (trace !== undefined) data.t = trace;
      if (key !== undefined && ctx !== undefined) {
        const k = key(input, ctx);
        if (typeof k !== 'string')
          throw new TypeError(
            `bullmqExecutor.task: options.key must return a string, got ${typeof k}`,
          );
        data.k = k;
      }
      if (this.maxPayload !== DEFAULT_MAX_PAYLOAD) data.m = this.maxPayload;
    } catch (err) {
      return Promise.reject(err);
    }
    const group = signal === undefined ? this.unsignalled : this.groups.of(signal);
    data.g = group.id;
    const id = `${this.caller}-${++this.seq}`;
    return new Promise((resolve, reject) => {
      const p = new Pending(id, name, data, { ...opts, jobId: id }, resolve, reject);
      group.add(p);
      this.pending.set(id, p);
      this.buffer.push(p);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(this.flush);
      }
    });
  }

  /** Adds the tasks of this tick as one batch of jobs. */
  private readonly flush = (): void => {
    this.flushScheduled = false;
    const batch = this.buffer;
    this.buffer = [];
    const jobs: { name: string; data: JobData; opts: JobsOptions }[] = [];
    const added: Pending[] = [];
    for (const p of batch) {
      if (p.state !== BUFFERED) continue;
      // A heartbeat lapse may have changed the caller id since the task was called.
      p.data.c = this.caller;
      p.state = ADDING;
      jobs.push({ name: p.name, data: p.data, opts: p.opts });
      added.push(p);
    }
    if (jobs.length === 0) return;
    this.beat();
    this.bull.addBulk(jobs).then(
      () => {
        for (const p of added) {
          if (p.state !== ADDING) continue;
          p.state = QUEUED;
          if (p.withdraw) this.withdraw(p);
        }
      },
      (err) => {
        for (const p of added) if (p.state !== DONE) this.settle(p, false, err);
      },
    );
    if (!this.reading) void this.read();
  };

  /** Withdraws the group's waiting jobs and tells workers to abort its running ones. */
  private cancel(group: Group, reason: unknown): void {
    let remote = false;
    for (let p = group.head; p !== undefined; ) {
      const next = p.next;
      if (p.state === BUFFERED) this.settle(p, false, reason);
      else remote = true;
      p = next;
    }
    if (!remote) return;
    // Publish first: the running jobs are the ones to stop quickly.
    this.cmd.publish(this.channel, cancelMessage(this.caller, group.id)).catch(this.onError);
    for (let p = group.head; p !== undefined; p = p.next) {
      if (p.state === ADDING) p.withdraw = true;
      else if (p.state === QUEUED) this.withdraw(p);
    }
  }

  private withdraw(p: Pending): void {
    this.bull.remove(p.id).then((removed) => {
      // 0: the job is running; its worker was told to abort, and will report.
      if (removed === 1 && p.state !== DONE) {
        this.settle(
          p,
          false,
          p.group!.signal?.reason ?? new CancelledError('bullmqExecutor: the executor is closed'),
        );
      }
    }, this.onError);
  }

  /** Reads results while jobs are out; one blocking connection per executor. */
  private async read(): Promise<void> {
    this.reading = true;
    this.reader ??= this.newReader();
    const reader = this.reader;
    try {
      while (this.pending.size > 0) {
        const key = this.key;
        const r = await reader.xread(
          'COUNT',
          READ_BATCH,
          'BLOCK',
          1000,
          'STREAMS',
          key,
          this.lastId,
        );
        if (r === null || key !== this.key) continue;
        const entries = r[0]![1];
        if (entries.length === 0) continue;
        this.lastId = entries[entries.length - 1]![0];
        // Read entries are of no more use; keep the stream short.
        reader.xtrim(key, 'MINID', this.lastId).catch(this.onError);
        // A worker sends the results of one tick as one entry: m, result, m, result...
        for (const [, fields] of entries) {
          for (let i = 1; i < fields.length; i += 2) this.deliver(fields[i]!);
        }
      }
    } catch (err) {
      if (this.reader === reader && reader.status !== 'end') this.onError(err);
      // Redis itself is out of reach; try again shortly while tasks wait.
      if (this.pending.size > 0 && reader.status !== 'end') {
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      this.reading = false;
    }
    if (this.pending.size > 0 && reader.status !== 'end') void this.read();
  }

  private newReader(): Client {
    const reader = createClient(this.connection, true);
    reader.on('error', this.onError);
    return reader;
  }

  private deliver(message: string): void {
    let m: ResultMessage;
    try {
      m = JSON.parse(message) as ResultMessage;
    } catch (err) {
      this.onError(err);
      return;
    }
    const p = this.pending.get(m.j);
    // A result for a job no longer out: a second run of it, or one withdrawn.
    if (p === undefined) return;
    if (m.e === undefined) {
      this.settle(p, true, m.v);
    } else if (m.x === 1 && p.group!.signal?.aborted) {
      this.settle(p, false, p.group!.signal.reason);
    } else {
      this.settle(p, false, decodeError(m.e));
    }
  }

  private settle(p: Pending, ok: boolean, value: unknown): void {
    p.state = DONE;
    this.pending.delete(p.id);
    this.groups.leave(p);
    if (ok) p.resolve(value);
    else p.reject(value);
    if (this.pending.size === 0) this.idleSoon();
  }

  /** Creates the stream (empty, with its TTL) before the first job goes out, and keeps it alive. */
  private beat(): void {
    if (this.beating) return;
    this.beating = true;
    this.lastBeat = Date.now();
    this.lastId = '0-0';
    this.cmd
      .multi()
      .xadd(this.key, 'MAXLEN', '0', '*', 'm', '')
      .pexpire(this.key, this.ttl)
      .exec()
      .catch(this.onError);
    this.timer = setInterval(this.refresh, Math.max(50, Math.floor(this.ttl / 4)));
    this.timer.unref();
  }

  private readonly refresh = (): void => {
    const now = Date.now();
    const late = now - this.lastBeat > this.ttl;
    this.lastBeat = now;
    if (late) {
      this.lapse();
      return;
    }
    const key = this.key;
    this.cmd.pexpire(key, this.ttl).then((renewed) => {
      if (renewed === 0 && this.beating && key === this.key) this.lapse();
    }, this.onError);
  };

  /**
   * The stream expired (this process stalled longer than `heartbeat`):
   * workers may have dropped any of our jobs, so every task out fails, and
   * a new caller id keeps later tasks clear of the old ones.
   */
  private lapse(): void {
    const error = new FanoutError(
      `bullmqExecutor: this process's heartbeat expired (was its event loop blocked for more than ${this.ttl} ms?); workers may have dropped its jobs`,
    );
    const old = this.key;
    this.rotate();
    this.cmd.del(old).catch(this.onError);
    this.beating = false;
    clearInterval(this.timer);
    for (const p of this.pending.values()) if (p.state !== BUFFERED) this.settle(p, false, error);
    if (this.pending.size > 0) this.beat();
  }

  private rotate(): void {
    this.caller = randomId();
    this.key = callerKey(this.base, this.caller);
  }

  /** Once nothing is out, removes the stream. */
  private idleSoon(): void {
    if (this.idleScheduled) return;
    this.idleScheduled = true;
    // Not at once: the next task of a fanOut usually starts in this very tick.
    setImmediate(() => {
      this.idleScheduled = false;
      if (this.pending.size > 0) return;
      // A lapse stopped the beat already; close still waits to hear that nothing is out.
      if (this.beating) {
        this.beating = false;
        clearInterval(this.timer);
        this.cmd.del(this.key).catch(this.onError);
      }
      this.drained?.();
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.pending.size > 0 || this.beating) {
      const drained = new Promise<void>((resolve) => {
        this.drained = resolve;
      });
      const groups = new Set<Group>();
      for (const p of this.pending.values()) groups.add(p.group!);
      const reason = new CancelledError('bullmqExecutor: the executor is closed');
      for (const g of groups) this.cancel(g, reason);
      if (this.pending.size > 0 || this.beating) {
        if (this.pending.size === 0) this.idleSoon();
        await drained;
      }
    }
    await this.bull.close();
    this.reader?.disconnect();
    await this.cmd.quit().catch(noop);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function jobOptions(attempts: number | undefined, backoff: Backoff | undefined): JobsOptions {
  const opts: JobsOptions = { removeOnComplete: true, removeOnFail: true };
  if (attempts !== undefined) opts.attempts = attempts;
  if (backoff !== undefined) opts.backoff = backoff;
  return opts;
}
