// fanOut against a hand-written bounded worker loop (the floor) and the
// usual peers, N tasks at concurrency C, with a synchronous task and a task
// that awaits one setImmediate; then a fail-fast run where task 10 throws.
//
//   node --import tsx bench/core.ts                 # the whole table
//   node --import tsx bench/core.ts fanOut sync 256 # one case

import { fanOut } from '../src/index.ts';
import { caseArg, fmt, isolated, peakRssMb, report, table, time } from './lib.ts';

// Each case runs in its own process and loads only the library it measures,
// so that peak RSS compares like with like.
const runner = process.argv[2];
const asyncLib = runner === 'async.mapLimit' ? (await import('async')).default : undefined!;
const { Effect } =
  runner === 'Effect.forEach' ? await import('effect') : ({} as typeof import('effect'));
const pLimit = runner === 'p-limit' ? (await import('p-limit')).default : undefined!;
const pMap = runner === 'p-map' ? (await import('p-map')).default : undefined!;

const N = Number(process.env.BENCH_N ?? 1e6);
const FAIL_N = 1e5;
const FAIL_AT = 10;

type Kind = 'sync' | 'tick';
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const syncTask = (x: number) => x + 1;
const tickTask = async (x: number) => {
  await tick();
  return x + 1;
};

/** The floor: C async loops, each pulling the next index. */
async function floor(items: number[], c: number, fn: (x: number) => unknown): Promise<unknown[]> {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  const workers = [];
  for (let i = 0; i < Math.min(c, items.length); i++) workers.push(worker());
  await Promise.all(workers);
  return results;
}

const runners: Record<
  string,
  (items: number[], c: number, kind: Kind) => Promise<unknown[] | undefined>
> = {
  floor: (items, c, kind) => floor(items, c, kind === 'sync' ? syncTask : tickTask),
  fanOut: (items, c, kind) =>
    fanOut(items, kind === 'sync' ? syncTask : tickTask, { concurrency: c }),
  'async.mapLimit': (items, c, kind) =>
    asyncLib.mapLimit(items, c, kind === 'sync' ? async (x: number) => x + 1 : tickTask),
  'p-map': (items, c, kind) =>
    pMap(items, kind === 'sync' ? syncTask : tickTask, { concurrency: c }),
  'Effect.forEach': (items, c, kind) =>
    Effect.runPromise(
      Effect.forEach(
        items,
        kind === 'sync'
          ? (x: number) => Effect.sync(() => x + 1)
          : (x: number) => Effect.promise(() => tickTask(x)),
        { concurrency: c },
      ),
    ),
  'p-limit': (items, c, kind) => {
    const limit = pLimit(c);
    const fn = kind === 'sync' ? syncTask : tickTask;
    return Promise.all(items.map((x) => limit(() => fn(x))));
  },
};

async function throughput(name: string, kind: Kind, c: number): Promise<void> {
  const items = Array.from({ length: N }, (_, i) => i);
  // A short warm-up so that every runner is measured optimised.
  await runners[name]!(items.slice(0, 20_000), c, kind);
  const baseRss = peakRssMb();
  let out: unknown[] | undefined;
  const ns = await time(async () => {
    out = await runners[name]!(items, c, kind);
  });
  if (out?.length !== N || out[N - 1] !== N) throw new Error(`${name} returned wrong results`);
  report({ nsPerTask: ns / N, peakRssMb: peakRssMb(), baseRssMb: baseRss });
}

/**
 * Fail-fast: tasks await one setImmediate, task FAIL_AT throws. Measures the
 * time to reject, tasks started after the rejection, and how many of the
 * tasks in flight at the failure saw their signal abort.
 */
async function failFast(name: string, c: number): Promise<void> {
  // A smaller run first so that every runner is measured warm, then the
  // median of five.
  await failOnce(name, c, 1_000);
  const runs: FailResult[] = [];
  for (let i = 0; i < 5; i++) runs.push(await failOnce(name, c, FAIL_N));
  runs.sort((a, b) => a.rejectUs - b.rejectUs);
  report({ ...runs[2], startedAfter: Math.max(...runs.map((r) => r.startedAfter)) });
}

interface FailResult {
  rejectUs: number;
  startedAfter: number;
  inFlightAtFailure: number;
  sawAbort: number;
}

async function failOnce(name: string, c: number, n: number): Promise<FailResult> {
  const items = Array.from({ length: n }, (_, i) => i);
  let started = 0;
  let inFlight = 0;
  let failedAt = -1;
  let inFlightAtFailure = 0;
  let sawAbort = 0;
  const boom = new Error('boom');
  const task = async (x: number, ctx?: { signal: AbortSignal }) => {
    started++;
    inFlight++;
    try {
      await tick();
      if (x === FAIL_AT) {
        failedAt = started;
        inFlightAtFailure = inFlight - 1;
        throw boom;
      }
      if (failedAt >= 0 && ctx?.signal.aborted) sawAbort++;
      return x;
    } finally {
      inFlight--;
    }
  };
  const floorFail = async () => {
    let next = 0;
    let failed = false;
    const controller = new AbortController();
    const worker = async () => {
      while (next < items.length && !failed) {
        const i = next++;
        try {
          await task(items[i]!, controller);
        } catch (err) {
          failed = true;
          controller.abort(err);
          throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: c }, worker));
  };
  const run: Record<string, () => Promise<unknown>> = {
    floor: floorFail,
    fanOut: () => fanOut(items, task, { concurrency: c }),
    'async.mapLimit': () => asyncLib.mapLimit(items, c, async (x: number) => task(x)),
    'p-map': () => pMap(items, (x) => task(x), { concurrency: c }),
    'Effect.forEach': () =>
      Effect.runPromise(
        Effect.forEach(items, (x: number) => Effect.tryPromise(() => task(x)), { concurrency: c }),
      ),
    'p-limit': () => {
      const limit = pLimit(c);
      return Promise.all(items.map((x) => limit(() => task(x))));
    },
  };
  const t0 = process.hrtime.bigint();
  let rejectNs = 0;
  let startedAtReject = 0;
  await run[name]!().then(
    () => {
      throw new Error(`${name} did not reject`);
    },
    () => {
      rejectNs = Number(process.hrtime.bigint() - t0);
      startedAtReject = started;
    },
  );
  // Let whatever the runner left behind run on, then count it.
  for (let i = 0; i < 50; i++) await tick();
  await new Promise((r) => setTimeout(r, 100));
  return {
    rejectUs: rejectNs / 1000,
    startedAfter: started - startedAtReject,
    inFlightAtFailure,
    sawAbort,
  };
}

async function main(): Promise<void> {
  const name = caseArg();
  if (name !== undefined) {
    const [mode, c] = [process.argv[3]!, Number(process.argv[4])];
    if (mode === 'fail') return failFast(name, c);
    return throughput(name, mode as Kind, c);
  }
  const script = new URL(import.meta.url).pathname;
  const names = Object.keys(runners);
  console.log(`N = ${N} tasks; ns per task, ratio to the floor, peak RSS (MB)\n`);
  const rows: (string | number)[][] = [];
  for (const kind of ['sync', 'tick'] as const) {
    for (const c of [16, 256]) {
      let floorNs = 0;
      let floorRss = 0;
      for (const n of names) {
        const r = isolated<{ nsPerTask: number; peakRssMb: number }>(script, [n, kind, String(c)]);
        if (n === 'floor') [floorNs, floorRss] = [r.nsPerTask, r.peakRssMb];
        rows.push([
          kind,
          c,
          n,
          fmt(r.nsPerTask),
          `${fmt(r.nsPerTask / floorNs, 2)}×`,
          fmt(r.peakRssMb),
          `${r.peakRssMb - floorRss >= 0 ? '+' : ''}${fmt(r.peakRssMb - floorRss)}`,
        ]);
      }
    }
  }
  console.log(
    table(['task', 'C', 'runner', 'ns/task', 'vs floor', 'peak RSS MB', 'vs floor MB'], rows),
  );
  console.log(
    `\nFail-fast: ${FAIL_N} tasks awaiting one setImmediate, task ${FAIL_AT} throws, C = 256\n`,
  );
  const failRows: (string | number)[][] = [];
  let floorUs = 0;
  for (const n of names) {
    const r = isolated<{
      rejectUs: number;
      startedAfter: number;
      inFlightAtFailure: number;
      sawAbort: number;
    }>(script, [n, 'fail', '256']);
    if (n === 'floor') floorUs = r.rejectUs;
    failRows.push([
      n,
      fmt(r.rejectUs),
      `${fmt(r.rejectUs / floorUs, 2)}×`,
      r.startedAfter,
      `${r.sawAbort} of ${r.inFlightAtFailure}`,
    ]);
  }
  console.log(
    table(
      ['runner', 'time to reject (µs)', 'vs floor', 'started after reject', 'in flight saw abort'],
      failRows,
    ),
  );
}

await main();
