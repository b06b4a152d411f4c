// One worker thread of a pool: starts it (through tsx when TypeScript is in
// play), tracks the jobs it holds by slot, and sends them in batches.

import { type ResourceLimits, type TransferListItem, Worker } from 'node:worker_threads';
import { SerializationError } from '../../errors.ts';
import type { TraceCarrier } from '../../tracing/propagation.ts';
import type { Job } from './job.ts';
import {
  FAILED,
  MAX_SLOTS,
  QUEUED,
  RECALLED_FLAG,
  RUN,
  type RunMessage,
  type WorkerInit,
} from './protocol.ts';

const self = import.meta.url;
// Compiled, this file is internal/thread.js next to worker.js; under tsx,
// thread.ts next to worker.ts, which only tsx can load.
const fromSource = self.endsWith('.ts');
const ENTRY = new URL(fromSource ? '../worker.ts' : '../worker.js', self);
const TS_FILE = /\.[cm]?tsx?$/;

// Node 20 does not apply loader hooks from `--import tsx` in execArgv to a
// worker's own modules, and loading tsx there only slows its start: drop
// those flags, and register tsx inside the worker when it is needed. When
// nothing is dropped, threads inherit execArgv (undefined): Node then leaves
// out by itself the flags a worker refuses (--expose-gc, --title...), which
// it does not do for a list given explicitly.
let execArgv: string[] | undefined = dropTsx(process.execArgv);
if (execArgv.length === process.execArgv.length) execArgv = undefined;
const BOOT = `const { workerData, parentPort } = require('node:worker_threads');
import(workerData.tsx)
  .then((tsx) => { tsx.register(); return import(workerData.entry); })
  .catch((e) => parentPort.postMessage({ t: ${FAILED}, stage: 'module',
    error: { e: { name: String(e && e.name), message: String(e && e.message), stack: e && e.stack } } }));`;

function dropTsx(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (
      (a === '--import' || a === '--require' || a === '-r' || a === '--loader') &&
      /tsx/.test(argv[i + 1] ?? '')
    ) {
      i++;
    } else if (/^--(import|require|loader|experimental-loader)=.*tsx/.test(a)) {
      // dropped
    } else if (a.startsWith('--input-type')) {
      // Only for the main script of `node -e`; a worker refuses to start with it.
    } else {
      out.push(a);
    }
  }
  return out;
}

function tsxApi(): string | undefined {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

export interface ThreadSpec {
  module: string;
  setup: string | undefined;
  resourceLimits: ResourceLimits | undefined;
}

/** A job whose input could not be sent, and why. */
export interface Refused {
  job: Job;
  error: SerializationError;
}

export class Thread {
  readonly worker: Worker;
  readonly flags: Int32Array;
  /** The jobs this thread holds, by slot. */
  readonly jobs: (Job | undefined)[] = new Array(MAX_SLOTS).fill(undefined);
  private readonly free: Int32Array = new Int32Array(MAX_SLOTS);
  private top = MAX_SLOTS;
  load = 0;
  ready = false;
  /** Set once it exited or is being terminated: it takes no more jobs. */
  gone = false;
  /** Set when the pool terminated it because a task ignored its abort. */
  killed = false;
  /** The uncaught error it died of, if any. */
  error: unknown;
  /** When it last sent results, or got work while idle: how long it has been busy without a word. */
  since = 0;

  constructor(spec: ThreadSpec) {
    for (let i = 0; i < MAX_SLOTS; i++) this.free[i] = MAX_SLOTS - 1 - i;
    const flags = new SharedArrayBuffer(4 * MAX_SLOTS);
    this.flags = new Int32Array(flags);
    const init: WorkerInit = { module: spec.module, setup: spec.setup, flags };
    const ts = fromSource || TS_FILE.test(spec.module) || TS_FILE.test(spec.setup ?? '');
    const tsx = ts ? tsxApi() : undefined;
    if (tsx !== undefined) {
      init.tsx = tsx;
      init.entry = ENTRY.href;
    }
    const start = () =>
      tsx === undefined
        ? new Worker(ENTRY, { execArgv, resourceLimits: spec.resourceLimits, workerData: init })
        : new Worker(BOOT, {
            execArgv,
            resourceLimits: spec.resourceLimits,
            workerData: init,
            eval: true,
          });
    try {
      this.worker = start();
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
      // A flag a worker refuses came with the list we filtered: inherit
      // instead (the tsx flags come along; they only slow the start).
      execArgv = undefined;
      this.worker = start();
    }
    // An idle pool must not keep the process alive; send() refs it while the
    // pool waits for anything from it: results, or recalled slots back.
    this.worker.unref();
  }

  /**
   * Sends `jobs` in one message. Jobs whose input cannot be cloned are
   * failed with a SerializationError and left out; the rest still go.
   */
  send(jobs: Job[]): Refused[] | undefined {
    if (this.load === 0) {
      this.worker.ref();
      this.since = performance.now();
    }
    const m = this.pack(jobs);
    try {
      this.worker.postMessage(m, moves(jobs));
      return undefined;
    } catch {
      return this.sendOneByOne(jobs);
    }
  }

  /**
   * Gives each job a slot and packs them in one RunMessage. Names, attempts
   * and trace carriers are sent per task only when they differ from the
   * common case, since each value sent costs time on both threads.
   */
  private pack(jobs: Job[]): RunMessage {
    const n = jobs.length;
    const name = jobs[0]!.name;
    // Built with push: structured clone writes a holey array (new Array(n))
    // key by key, several times slower than a packed one.
    const b: unknown[] = [];
    let names: string[] | undefined;
    let attempts: number[] | undefined;
    let traces: (TraceCarrier | undefined)[] | undefined;
    for (let k = 0; k < n; k++) {
      const job = jobs[k]!;
      const slot = this.free[--this.top]!;
      Atomics.store(this.flags, slot, QUEUED);
      this.jobs[slot] = job;
      job.thread = this;
      job.slot = slot;
      b.push(slot, job.index, job.input);
      if (job.name !== name) (names ??= packed(k, name)).push(job.name);
      else names?.push(name);
      if (job.attempt !== 1) (attempts ??= packed(k, 1)).push(job.attempt);
      else attempts?.push(1);
      if (job.trace !== undefined)
        (traces ??= packed<TraceCarrier | undefined>(k, undefined)).push(job.trace);
      else traces?.push(undefined);
    }
    this.load += n;
    return { t: RUN, b, name: names === undefined ? name : undefined, names, attempts, traces };
  }

  /** Something in the batch could not be cloned: send the jobs one by one to find what. */
  private sendOneByOne(jobs: Job[]): Refused[] {
    const refused: Refused[] = [];
    for (const job of jobs) {
      const m: RunMessage = {
        t: RUN,
        b: [job.slot, job.index, job.input],
        name: job.name,
        names: undefined,
        attempts: [job.attempt],
        traces: [job.trace],
      };
      try {
        this.worker.postMessage(m, job.moves);
      } catch (error) {
        this.take(job.slot);
        const message = `threadPool: the input of task "${job.name}" (index ${job.index}) cannot be sent to a worker thread: ${(error as Error).message}`;
        refused.push({ job, error: new SerializationError(message, { cause: error }) });
      }
    }
    return refused;
  }

  /**
   * Takes back the job in `slot` if the worker has not started it, and
   * returns it. The slot stays reserved until the worker reports it skipped
   * it (see {@link release}), and the thread stays ref'd until then: the
   * pool may need that slot for the jobs it queues (when every other slot
   * is reserved too).
   */
  recall(slot: number): Job | undefined {
    const job = this.jobs[slot];
    if (
      job === undefined ||
      Atomics.compareExchange(this.flags, slot, QUEUED, RECALLED_FLAG) !== QUEUED
    ) {
      return undefined;
    }
    this.jobs[slot] = undefined;
    job.thread = undefined;
    job.slot = -1;
    this.load--;
    return job;
  }

  /** Frees a recalled slot once the worker has passed it. */
  release(slot: number): void {
    this.free[this.top++] = slot;
    this.unrefIfIdle();
  }

  /**
   * Lets the process exit once every slot is free: no job held, and every
   * recalled slot passed by the worker (a slot is free, held, or recalled).
   */
  private unrefIfIdle(): void {
    if (this.top === MAX_SLOTS && !this.gone) this.worker.unref();
  }

  /** How many more jobs it can take: free slots, recalled ones excluded. */
  slotsLeft(): number {
    return this.top;
  }

  /** Releases `slot` and returns the job it held, if it still held one. */
  take(slot: number): Job | undefined {
    const job = this.jobs[slot];
    if (job === undefined) return undefined;
    this.jobs[slot] = undefined;
    this.free[this.top++] = slot;
    this.load--;
    this.unrefIfIdle();
    return job;
  }
}

function moves(jobs: Job[]): TransferListItem[] | undefined {
  let list: TransferListItem[] | undefined;
  for (const job of jobs) if (job.moves !== undefined) (list ??= []).push(...job.moves);
  return list;
}

/** An array of `n` times `value`, packed (see pack). */
function packed<T>(n: number, value: T): T[] {
  const a: T[] = [];
  for (let i = 0; i < n; i++) a.push(value);
  return a;
}
