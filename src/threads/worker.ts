// The entry of every pool thread: imports the setup module, then the task
// module, then runs the batches of tasks the pool sends and sends results
// back in batches. Not part of the public API.

import { parentPort, type TransferListItem, workerData } from 'node:worker_threads';
import { decode, type Encoded, encode, encodeUncloneable } from '../internal/error-codec.ts';
import { loadTaskModule } from '../internal/task-module.ts';
import type { TraceCarrier } from '../tracing/propagation.ts';
import {
  ABORT,
  ABORTED,
  ECHO,
  FAILED,
  NO_TASK,
  QUEUED,
  READY,
  RECALLED,
  RESULTS,
  type ResultsMessage,
  RUN,
  RUN_STRIDE,
  type RunMessage,
  STARTED,
  THREW,
  type ToWorker,
  UNCLONEABLE,
  type WorkerInit,
} from './internal/protocol.ts';
import { RemoteContext } from './internal/remote-context.ts';
import { isTransfer } from './transfer.ts';

type Task = (input: unknown, ctx: RemoteContext) => unknown;

/** A task export and the time its synchronous part takes (ms, a moving average; -1: unknown). */
interface Entry {
  fn: Task;
  cost: number;
}

// Results go back as soon as this much time passed since the last batch of
// them, so long tasks in a batch do not hold back the results of earlier ones.
const FLUSH_MS = 0.5;

const port = parentPort!;
const init = workerData as WorkerInit;
const flags = new Int32Array(init.flags);
const tasks = new Map<string, Entry>();
/** Contexts of the async tasks still running, by slot, for ABORT messages. */
const running: (RemoteContext | undefined)[] = [];
/** Messages that wait for a module to load: the task module, or tracing. */
let held: ToWorker[] | undefined = [];
// Loaded with the first task that carries a trace context: it loads
// @opentelemetry/api, which would add some 15 ms to every thread's start.
let tracing: typeof import('../tracing/propagation.ts') | undefined;

let ok: unknown[] = [];
let err: unknown[] = [];
/** Transfer lists of results in `ok`, by slot; only when a task used transfer(). */
let moves: Map<number, readonly TransferListItem[]> | undefined;
let busy = 0;
let started = 0;
let lastFlush = performance.now();
let flushQueued = false;
let lastName: string | undefined;
let lastEntry: Entry | undefined;

port.on('message', (m: ToWorker) => {
  if (held !== undefined) held.push(m);
  else handle(m);
});
// A batch that cannot be read names no task: dying lets the pool fail the
// tasks this thread held, with this error as the cause, and replace it.
port.on('messageerror', (error) => {
  throw error;
});
void load();

async function load(): Promise<void> {
  let stage: 'setup' | 'module' = 'setup';
  try {
    if (init.setup !== undefined) await import(init.setup);
    stage = 'module';
    for (const [name, fn] of (await loadTaskModule(init.module)).tasks) {
      tasks.set(name, { fn, cost: -1 });
    }
  } catch (error) {
    // The pool fails every task with a TaskModuleError naming the module;
    // this thread then waits to be terminated.
    held = undefined;
    port.postMessage({ t: FAILED, stage, error: encode(error) });
    return;
  }
  port.postMessage({ t: READY, exports: [...tasks.keys()] });
  release();
}

/** Handles the held messages in order, unless one of them has to wait again. */
function release(): void {
  const queued = held!;
  held = undefined;
  for (let i = 0; i < queued.length; i++) {
    handle(queued[i]!);
    // handle() may have started holding messages again (it loads tracing).
    const again = held as ToWorker[] | undefined;
    if (again !== undefined) {
      again.push(...queued.slice(i + 1));
      return;
    }
  }
}

function handle(m: ToWorker): void {
  if (m.t === RUN && m.traces !== undefined && tracing === undefined) {
    held = [m];
    import('../tracing/propagation.ts').then((module) => {
      tracing = module;
      release();
    });
    return;
  }
  if (m.t === RUN) run(m);
  else if (m.t === ABORT) {
    const reason = m.reason === undefined ? undefined : decode(m.reason);
    for (const slot of m.slots) running[slot]?.abort(reason);
  }
}

function run(m: RunMessage): void {
  const { b, names, attempts, traces } = m;
  let now = performance.now();
  let t0 = now;
  // Time for results to go back counts from when there were first some to send.
  if (ok.length === 0 && err.length === 0) lastFlush = now;
  for (let k = 0, i = 0; i < b.length; k++, i += RUN_STRIDE) {
    const slot = b[i] as number;
    const name = names === undefined ? m.name! : names[k]!;
    if (name !== lastName) {
      lastEntry = tasks.get(name);
      lastName = name;
    }
    const entry = lastEntry;
    // The flag first, even for a task the module lacks: the pool frees a
    // recalled slot (and lets this thread go idle) only on a RECALLED report.
    const state = Atomics.compareExchange(flags, slot, QUEUED, STARTED);
    if (state !== QUEUED) {
      // Cancelled, or moved to another thread, before it started.
      err.push(slot, (state & ABORTED) !== 0 ? ECHO : RECALLED, undefined);
      continue;
    }
    if (entry === undefined) {
      err.push(slot, NO_TASK, name);
      continue;
    }
    // A task that may run long must not hold back results already here.
    if ((entry.cost < 0 || entry.cost > FLUSH_MS) && (ok.length > 0 || err.length > 0)) {
      busy += now - t0;
      t0 = now;
      flush(now);
    }
    const ctx = new RemoteContext(flags, slot, b[i + 1] as number, attempts?.[k] ?? 1);
    start(entry.fn, b[i + 2], ctx, traces?.[k]);
    started++;
    const after = performance.now();
    const dt = after - now;
    entry.cost = entry.cost < 0 ? dt : entry.cost * 0.8 + dt * 0.2;
    now = after;
    if (now - lastFlush > FLUSH_MS) {
      busy += now - t0;
      t0 = now;
      flush(now);
    }
  }
  busy += now - t0;
  flush(now);
}

/** Runs one task; its outcome goes into the next results message. */
function start(
  fn: Task,
  input: unknown,
  ctx: RemoteContext,
  trace: TraceCarrier | undefined,
): void {
  let out: unknown;
  try {
    out =
      trace === undefined ? fn(input, ctx) : tracing!.withTraceContext(trace, () => fn(input, ctx));
  } catch (error) {
    fail(ctx, error);
    return;
  }
  if (!isThenable(out)) {
    succeed(ctx, out);
    return;
  }
  const slot = ctx.slot;
  running[slot] = ctx;
  out.then(
    (value) => {
      running[slot] = undefined;
      succeed(ctx, value);
      schedule();
    },
    (error) => {
      running[slot] = undefined;
      fail(ctx, error);
      schedule();
    },
  );
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
  );
}

function succeed(ctx: RemoteContext, value: unknown): void {
  ctx.live = false;
  if (isTransfer(value)) {
    (moves ??= new Map()).set(ctx.slot, value.list);
    ok.push(ctx.slot, value.value);
  } else {
    ok.push(ctx.slot, value);
  }
}

function fail(ctx: RemoteContext, error: unknown): void {
  ctx.poll();
  ctx.live = false;
  if (ctx.echoes(error)) err.push(ctx.slot, ECHO, undefined);
  else err.push(ctx.slot, THREW, encode(error));
}

function schedule(): void {
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(() => {
    flushQueued = false;
    flush(performance.now());
  });
}

function flush(now: number): void {
  lastFlush = now;
  if (ok.length === 0 && err.length === 0 && started === 0) return;
  const m: ResultsMessage = {
    t: RESULTS,
    ok,
    err: err.length > 0 ? err : undefined,
    busy,
    n: started,
  };
  const list = moves === undefined ? undefined : [...moves.values()].flat();
  try {
    port.postMessage(m, list);
  } catch {
    sendOneByOne(m);
  }
  ok = [];
  err = [];
  moves = undefined;
  busy = 0;
  started = 0;
}

/** Something in the batch could not be cloned: find what, and fail only that task. */
function sendOneByOne(m: ResultsMessage): void {
  const one = (o: unknown[], e: unknown[] | undefined, list?: readonly TransferListItem[]) =>
    port.postMessage({ t: RESULTS, ok: o, err: e, busy: 0, n: 0 }, list);
  for (let i = 0; i < m.ok.length; i += 2) {
    const slot = m.ok[i] as number;
    try {
      one([slot, m.ok[i + 1]], undefined, moves?.get(slot));
    } catch (error) {
      one([], [slot, UNCLONEABLE, (error as Error).message]);
    }
  }
  const e = m.err ?? [];
  for (let i = 0; i < e.length; i += 3) {
    try {
      one([], [e[i], e[i + 1], e[i + 2]]);
    } catch {
      one([], [e[i], THREW, plain(e[i + 2] as Encoded)]);
    }
  }
  port.postMessage({ t: RESULTS, ok: [], err: undefined, busy: m.busy, n: m.n });
}

/** The clonable core of an error whose cause or thrown value could not be cloned. */
function plain(enc: Encoded): Encoded {
  if (enc.e === undefined) return encodeUncloneable(enc.v);
  const { name, message, stack, code } = enc.e;
  return { e: { name, message, stack, code } };
}
