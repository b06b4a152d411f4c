// The heart of a pool: queues jobs, spreads them over the threads in
// batches, settles them from the threads' results, forwards cancellation,
// and replaces threads that die.

import {
  CancelledError,
  SerializationError,
  TaskModuleError,
  WorkerExitedError,
} from '../../errors.ts';
import { listen } from '../../internal/abort.ts';
import { type Deferred, deferred } from '../../internal/deferred.ts';
import { decode, encode } from '../../internal/error-codec.ts';
import { type SignalGroup, SignalGroups } from '../../internal/signal-group.ts';
import { noTaskError } from '../../internal/task-module.ts';
import type { TaskContext } from '../../task.ts';
import { otelApi } from '../../tracing/api.ts';
import { injectTraceContext } from '../../tracing/propagation.ts';
import { isTransfer } from '../transfer.ts';
import { Capacity, fillLevel } from './capacity.ts';
import { Job } from './job.ts';
import {
  ABORT,
  ABORTED,
  ECHO,
  FAILED,
  type FromWorker,
  MAX_SLOTS,
  NO_TASK,
  READY,
  RECALLED,
  RESULTS,
  type ResultsMessage,
  THREW,
  UNCLONEABLE,
} from './protocol.ts';
import { Thread, type ThreadSpec } from './thread.ts';

// A thread silent this long while holding queued tasks is busy with a long
// one: when another thread idles, its tasks not yet started move there.
const STEAL_MS = 5;

export interface SchedulerOptions extends ThreadSpec {
  size: number;
  abortGrace: number;
}

export class Scheduler {
  private readonly threads: Thread[] = [];
  private readonly queue: Job[] = [];
  private head = 0;
  private scheduled = false;
  private readonly dispatchNow = () => this.dispatch();
  private readonly capacity = new Capacity();
  private readonly groups = new SignalGroups<Job>((g) => this.onAbort(g));
  private active = 0;
  private drained: Deferred<void> | undefined;
  private exports: Set<string> | undefined;
  private broken: TaskModuleError | undefined;
  private closing = false;
  private terminated = false;
  private readyCount = 0;
  private stealTimer: ReturnType<typeof setTimeout> | undefined;
  private traced: boolean | undefined;
  private closed: Promise<void> | undefined;
  readonly ready: Deferred<void> = deferred();

  constructor(private readonly options: SchedulerOptions) {
    this.ready.promise.catch(() => {}); // nobody has to ask
    for (let i = 0; i < options.size; i++) this.threads.push(this.spawn());
  }

  /** Queues one task; the promise settles with its result or error. */
  submit(name: string, input: unknown, ctx: Partial<TaskContext> | undefined): Promise<unknown> {
    if (this.broken !== undefined) return Promise.reject(copy(this.broken));
    if (this.closing) return Promise.reject(new CancelledError('threadPool: the pool is closed'));
    const signal = ctx?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.exports !== undefined && !this.exports.has(name)) {
      return Promise.reject(this.noTask(name));
    }
    let job!: Job;
    const promise = new Promise((resolve, reject) => {
      job = new Job(
        name,
        input,
        ctx?.index ?? 0,
        ctx?.attempt ?? 1,
        signal,
        this.tracing() ? injectTraceContext() : undefined,
        resolve,
        reject,
      );
    });
    if (isTransfer(input)) {
      job.input = input.value;
      job.moves = input.list;
    }
    if (signal !== undefined) this.groups.of(signal).add(job);
    this.active++;
    this.queue.push(job);
    this.schedule();
    return promise;
  }

  /**
   * Lets queued and running tasks finish, then ends every thread; when
   * `signal` aborts first, fails them with its reason and ends the threads
   * at once. Every call returns the same promise.
   */
  close(signal: AbortSignal | undefined): Promise<void> {
    this.closed ??= this.shutdown();
    if (signal?.aborted) {
      this.abandon(signal.reason);
    } else if (signal !== undefined) {
      const unlisten = listen(signal, () => this.abandon(signal.reason));
      this.closed.then(unlisten);
    }
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.active > 0) {
      this.drained = deferred();
      await this.drained.promise;
    }
    this.terminated = true;
    this.ready.reject(new CancelledError('threadPool: the pool was closed before it was ready'));
    await Promise.all(
      this.threads.map((t) => {
        t.gone = true;
        return t.worker.terminate();
      }),
    );
  }

  /** Fails every task the pool holds with `reason` and ends the threads without waiting. */
  private abandon(reason: unknown): void {
    if (this.terminated) return;
    this.terminated = true;
    this.dropAll(() => reason);
  }

  /** Settles every job, queued or on a thread, with `reason()`, and terminates the threads. */
  private dropAll(reason: () => unknown): void {
    for (let i = this.head; i < this.queue.length; i++) {
      const job = this.queue[i]!;
      if (!job.done) this.settle(job, false, reason());
    }
    this.queue.length = 0;
    this.head = 0;
    for (const t of this.threads) {
      t.gone = true;
      for (let slot = 0; slot < MAX_SLOTS && t.load > 0; slot++) {
        const job = t.take(slot);
        if (job !== undefined) this.settle(job, false, reason());
      }
      void t.worker.terminate();
    }
  }

  /**
   * Whether a propagator is registered, so that a trace context can be
   * carried; asked once per burst of tasks (until the next dispatch) rather
   * than per task, since each question goes through the API's globals.
   */
  private tracing(): boolean {
    this.traced ??= (otelApi()?.propagation.fields().length ?? 0) > 0;
    return this.traced;
  }

  private spawn(): Thread {
    const t = new Thread(this.options);
    t.worker.on('message', (m: FromWorker) => this.onMessage(t, m));
    t.worker.on('error', (error) => {
      t.error = error;
    });
    t.worker.on('exit', (code) => this.onExit(t, code));
    // A results message that cannot be read names no task: end the thread,
    // so that the tasks it held fail (with this as the cause) instead of hanging.
    t.worker.on('messageerror', (error) => {
      t.error = error;
      t.gone = true;
      void t.worker.terminate();
    });
    return t;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.dispatchNow);
  }

  /**
   * Hands queued jobs to the threads with room, filling the least loaded
   * first up to a common level, so no thread idles while another holds
   * queued work; each thread gets one message.
   */
  private dispatch(): void {
    this.scheduled = false;
    this.traced = undefined;
    const queue = this.queue;
    const cap = this.capacity.cap;
    const open = this.threads.filter((t) => !t.gone && t.load < cap && t.slotsLeft() > 0);
    if (open.length > 0 && this.head < queue.length) {
      open.sort((a, b) => a.load - b.load);
      const level = fillLevel(open, queue.length - this.head, cap);
      for (const t of open) {
        // Recalled slots stay taken until the worker passes them.
        const n = Math.min(level - t.load, t.slotsLeft());
        if (n <= 0) continue;
        const batch: Job[] = [];
        while (batch.length < n && this.head < queue.length) {
          const job = queue[this.head++]!;
          if (!job.done) batch.push(job);
        }
        if (batch.length === 0) break;
        const refused = t.send(batch);
        if (refused !== undefined) {
          for (const r of refused) this.settle(r.job, false, r.error);
        }
      }
    }
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head > 4096) {
      queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private onMessage(t: Thread, m: FromWorker): void {
    if (m.t === RESULTS) this.onResults(t, m);
    else if (m.t === READY) {
      t.ready = true;
      this.exports = new Set(m.exports);
      if (++this.readyCount === this.options.size) this.ready.resolve();
    } else if (m.t === FAILED) {
      const error = decode(m.error) as Error;
      if (m.stage === 'module' && error instanceof TaskModuleError) {
        // The loader's error names the module and holds the import's error.
        const { message, module, cause } = error;
        this.fail(new TaskModuleError(`threadPool: ${message}`, module, undefined, { cause }));
        return;
      }
      const what = m.stage === 'setup' ? 'setup module' : 'task module';
      const url = m.stage === 'setup' ? this.options.setup! : this.options.module;
      const message = `threadPool: cannot load the ${what} ${url}: ${error?.message ?? error}`;
      this.fail(new TaskModuleError(message, url, undefined, { cause: error }));
    }
  }

  private onResults(t: Thread, m: ResultsMessage): void {
    const ok = m.ok;
    for (let i = 0; i < ok.length; i += 2) {
      const job = t.take(ok[i] as number);
      if (job !== undefined) this.settle(job, true, ok[i + 1]);
    }
    const err = m.err;
    if (err !== undefined) {
      for (let i = 0; i < err.length; i += 3) {
        if (err[i + 1] === RECALLED) {
          t.release(err[i] as number);
          continue;
        }
        const job = t.take(err[i] as number);
        if (job !== undefined) this.settle(job, false, this.failure(job, err[i + 1], err[i + 2]));
      }
    }
    if (m.n > 0) this.capacity.measured(m.busy, m.n);
    t.since = performance.now();
    if (this.head < this.queue.length) this.schedule();
    else if (t.load === 0) this.stealSoon();
  }

  /** A thread went idle with nothing queued: look again soon for work stuck behind a long task. */
  private stealSoon(delay = STEAL_MS): void {
    if (this.stealTimer !== undefined || !this.threads.some((u) => u.load >= 2)) return;
    this.stealTimer = setTimeout(() => {
      this.stealTimer = undefined;
      this.steal();
    }, delay);
    this.stealTimer.unref();
  }

  /** Moves tasks not yet started from long-silent threads to the queue, for idle threads. */
  private steal(): void {
    if (this.head < this.queue.length || !this.threads.some((t) => !t.gone && t.load === 0)) return;
    const now = performance.now();
    const taken: Job[] = [];
    let wait = Number.POSITIVE_INFINITY;
    for (const u of this.threads) {
      if (u.gone || u.load < 2) continue;
      const silent = now - u.since;
      if (silent < STEAL_MS) {
        // Busy, but it spoke recently: look again when it has been silent long enough.
        wait = Math.min(wait, STEAL_MS - silent);
        continue;
      }
      for (let slot = 0; slot < MAX_SLOTS; slot++) {
        const job = u.recall(slot);
        if (job !== undefined) taken.push(job);
      }
    }
    if (taken.length > 0) {
      for (const job of taken) this.queue.push(job);
      this.dispatch();
    } else if (wait !== Number.POSITIVE_INFINITY) {
      this.stealSoon(Math.ceil(wait));
    }
  }

  private failure(job: Job, status: unknown, payload: unknown): unknown {
    switch (status) {
      case THREW:
        return decode(payload as Parameters<typeof decode>[0]);
      case ECHO:
        return job.aborted ? job.signal!.reason : new CancelledError('threadPool: task cancelled');
      case NO_TASK:
        return this.noTask(job.name);
      case UNCLONEABLE:
        return new SerializationError(
          `threadPool: the result of task "${job.name}" (index ${job.index}) cannot be sent back from its worker thread: ${payload}`,
        );
      default:
        return new Error(`threadPool: unknown result status ${String(status)}`);
    }
  }

  private noTask(name: string): TaskModuleError {
    return noTaskError(this.options.module, name, this.exports ?? [], 'threadPool');
  }

  private settle(job: Job, ok: boolean, value: unknown): void {
    job.done = true;
    this.groups.leave(job);
    if (--this.active === 0) this.drained?.resolve();
    if (ok) job.resolve(value);
    else job.reject(value);
  }

  /**
   * The caller's signal aborted: jobs not started yet fail at once; running
   * jobs get their flag raised and an ABORT message, and a thread still
   * running one of them after the grace period is terminated.
   */
  private onAbort(w: SignalGroup<Job>): void {
    // Each job leaves the group as it settles (see settle): at once for those
    // not started, when their thread answers for the running ones.
    const reason = w.signal!.reason;
    const byThread = new Map<Thread, Job[]>();
    let recalled = false;
    for (let job = w.tail; job !== undefined; ) {
      const prev = job.prev;
      const t = job.thread;
      // Not started, in the pool's queue or still queued on a thread (which
      // may be deep in another task and read no message for a long time):
      // dropped at once, and no reason to end the thread.
      if (t === undefined) {
        this.settle(job, false, reason);
      } else if (t.recall(job.slot) !== undefined) {
        recalled = true;
        this.settle(job, false, reason);
      } else {
        job.aborted = true;
        Atomics.or(t.flags, job.slot, ABORTED);
        const list = byThread.get(t);
        if (list === undefined) byThread.set(t, [job]);
        else list.push(job);
      }
      job = prev;
    }
    // The recalled jobs made room on their threads: jobs queued behind them
    // go now. Waiting for those threads to report the recalled slots would
    // hold them back a round trip, for nothing when a thread has room.
    if (recalled && this.head < this.queue.length) this.schedule();
    for (const [t, jobs] of byThread) {
      const slots = jobs.map((j) => j.slot);
      try {
        t.worker.postMessage({ t: ABORT, slots, reason: encode(reason) });
      } catch {
        t.worker.postMessage({ t: ABORT, slots, reason: undefined });
      }
      setTimeout(() => this.enforce(t, jobs), this.options.abortGrace).unref();
    }
  }

  private enforce(t: Thread, jobs: Job[]): void {
    if (t.gone || !jobs.some((j) => !j.done)) return;
    t.killed = true;
    t.gone = true;
    void t.worker.terminate();
  }

  private onExit(t: Thread, code: number): void {
    t.gone = true;
    if (!t.ready && !t.killed && !this.terminated && this.broken === undefined) {
      // It died loading the modules, before any task could run.
      const { module } = this.options;
      const message = `threadPool: a worker thread exited with code ${code} while loading the task module ${module}`;
      this.fail(new TaskModuleError(message, module, undefined, { cause: t.error }));
      return;
    }
    const grace = this.options.abortGrace;
    for (let slot = 0; slot < MAX_SLOTS && t.load > 0; slot++) {
      const job = t.take(slot);
      if (job === undefined) continue;
      if (job.aborted) {
        this.settle(job, false, job.signal!.reason);
        continue;
      }
      const where = `task "${job.name}" (index ${job.index})`;
      const message = t.killed
        ? `threadPool: worker thread terminated after a task ignored its abort signal for ${grace} ms; ${where} was on it`
        : `threadPool: worker thread exited with code ${code} while holding ${where}`;
      this.settle(job, false, new WorkerExitedError(message, code, { cause: t.error }));
    }
    if (this.terminated || this.broken !== undefined) return;
    const i = this.threads.indexOf(t);
    if (i >= 0) this.threads[i] = this.spawn();
    if (this.head < this.queue.length) this.schedule();
  }

  /** The module cannot load: every task, now and later, fails with `error`. */
  private fail(error: TaskModuleError): void {
    if (this.broken !== undefined) return;
    this.broken = error;
    this.ready.reject(error);
    this.dropAll(() => copy(error));
  }
}

/** A fresh error per caller, so that one caller's `suppressed` never shows up in another's. */
function copy(error: TaskModuleError): TaskModuleError {
  return new TaskModuleError(error.message, error.module, error.task, { cause: error.cause });
}
