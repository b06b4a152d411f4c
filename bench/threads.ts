// threadPool on 2 threads against piscina (also with 16 tasks per worker),
// tinypool, workerpool, a bare postMessage pool (one message per task each
// way) and one thread (the same work inline on the main thread), all driven
// by fanOut: 1e5 tiny tasks (x => x + 1) at concurrency 1024, and 200 CPU
// tasks of about 5 ms each. Then threadPool's own numbers: time from
// threadPool() to the first result, and how fast a running CPU task that
// polls ctx.signal.aborted stops once its signal aborts.
//
// threadPool is measured compiled (as users get it): the table run compiles
// src/ into a temporary directory first, and each case imports from there.
//
//   node --import tsx bench/threads.ts                  # the whole table
//   node --import tsx bench/threads.ts piscina tiny     # one case (after a table run set
//                                                       # FANOUT_DIST and BENCH_CPU_ITERS)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { caseArg, fmt, isolated, peakRssMb, report, table } from './lib.ts';

const THREADS = 2;
const TINY_N = 1e5;
const CPU_N = 200;
const CONCURRENCY = 1024;
const here = fileURLToPath(new URL('.', import.meta.url));
const workers = join(here, 'threads-workers');

type Workload = 'tiny' | 'cpu' | 'start' | 'cancel';
type Name = 'inc' | 'cpu';
interface Runner {
  run(name: Name, input: number, ctx?: { signal: AbortSignal }): Promise<number> | number;
  close(): Promise<unknown>;
}

const makers: Record<string, () => Promise<Runner>> = {
  threadPool: () => fanoutPool(THREADS),
  'threadPool, 1 thread': () => fanoutPool(1),
  piscina: () => piscina(1),
  'piscina, 16 per worker': () => piscina(16),
  tinypool: async () => {
    const { Tinypool } = await import('tinypool');
    const filename = join(workers, 'piscina.mjs');
    const pool = new Tinypool({ filename, minThreads: THREADS, maxThreads: THREADS });
    return { run: (name, x) => pool.run(x, { name }), close: () => pool.destroy() };
  },
  workerpool: async () => {
    const workerpool = (await import('workerpool')).default;
    const pool = workerpool.pool(join(workers, 'workerpool.mjs'), {
      minWorkers: THREADS,
      maxWorkers: THREADS,
      workerType: 'thread',
    });
    return {
      run: (name, x) => pool.exec(name, [x]) as Promise<number>,
      close: () => pool.terminate() as Promise<unknown>,
    };
  },
  'bare postMessage pool': () => barePool(THREADS),
  'one thread (inline)': async () => {
    const work = await import(join(workers, 'work.mjs'));
    return { run: (name, x) => work[name](x) as number, close: async () => {} };
  },
};

async function fanoutPool(size: number): Promise<Runner> {
  const { threadPool } = await import(join(dist(), 'threads/index.js'));
  const pool = threadPool({ module: join(workers, 'work.mjs'), size });
  const tasks = { inc: pool.task('inc'), cpu: pool.task('cpu') };
  await pool.ready();
  return { run: (name, x, ctx) => tasks[name](x, ctx), close: () => pool.close() };
}

async function piscina(perWorker: number): Promise<Runner> {
  const { Piscina } = await import('piscina');
  const pool = new Piscina({
    filename: join(workers, 'piscina.mjs'),
    minThreads: THREADS,
    maxThreads: THREADS,
    concurrentTasksPerWorker: perWorker,
  });
  return { run: (name, x) => pool.run(x, { name }), close: () => pool.destroy() };
}

async function barePool(size: number): Promise<Runner> {
  const { Worker } = await import('node:worker_threads');
  const pending = new Map<number, (v: number) => void>();
  const threads = Array.from({ length: size }, () => {
    const w = new Worker(join(workers, 'bare.mjs'));
    w.on('message', (m: { id: number; value: number }) => {
      pending.get(m.id)!(m.value);
      pending.delete(m.id);
    });
    return w;
  });
  let id = 0;
  return {
    run: (name, input) =>
      new Promise((resolve) => {
        pending.set(++id, resolve);
        threads[id % size]!.postMessage({ id, name, input });
      }),
    close: () => Promise.all(threads.map((w) => w.terminate())),
  };
}

function dist(): string {
  const d = process.env.FANOUT_DIST;
  if (!d) throw new Error('FANOUT_DIST is not set: run the whole table once');
  return d;
}

async function throughput(runner: string, workload: 'tiny' | 'cpu'): Promise<void> {
  const { fanOut } = await import(join(dist(), 'index.js'));
  const pool = await makers[runner]!();
  const n = workload === 'tiny' ? TINY_N : CPU_N;
  const name: Name = workload === 'tiny' ? 'inc' : 'cpu';
  const input = workload === 'tiny' ? undefined : Number(process.env.BENCH_CPU_ITERS);
  const items = Array.from({ length: n }, (_, i) => input ?? i);
  const fn = (x: number, ctx: { signal: AbortSignal }) => pool.run(name, x, ctx);
  const opts = { concurrency: CONCURRENCY };
  await fanOut(items.slice(0, workload === 'tiny' ? 5000 : 10), fn, opts); // warm-up
  const times: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const out = await fanOut(items, fn, opts);
    times.push(performance.now() - t0);
    if (out.length !== n) throw new Error(`${runner}: ${out.length} results for ${n} tasks`);
  }
  await pool.close();
  times.sort((a, b) => a - b);
  report({ runner, workload, ms: times[1], best: times[0], n, rss: peakRssMb() });
}

/**
 * Time from making the pool to the first result, with every thread started.
 * A first pool is made and closed untimed, so that importing the library
 * (once per process) is not counted.
 */
async function start(runner: string): Promise<void> {
  const first = await makers[runner]!();
  await first.run('inc', 1);
  await first.close();
  const t0 = performance.now();
  const pool = await makers[runner]!();
  await pool.run('inc', 1);
  const ms = performance.now() - t0;
  await pool.close();
  report({ runner, workload: 'start', ms });
}

/** From abort() to the rejection of a task spinning on ctx.signal.aborted. */
async function cancel(): Promise<void> {
  const { threadPool } = await import(join(dist(), 'threads/index.js'));
  const pool = threadPool({ module: join(workers, 'work.mjs'), size: THREADS });
  await pool.ready();
  const spin = pool.task('spinUntilAborted');
  const lags: number[] = [];
  for (let i = 0; i < 30; i++) {
    const controller = new AbortController();
    const running = spin(null, { signal: controller.signal });
    await delay(10);
    const t0 = performance.now();
    controller.abort();
    await running;
    lags.push(performance.now() - t0);
  }
  await pool.close();
  lags.sort((a, b) => a - b);
  report({ runner: 'threadPool', workload: 'cancel', ms: lags[15], max: lags[29] });
}

/** Iterations of the CPU task that take about 5 ms here. */
async function calibrate(): Promise<number> {
  const { cpu } = await import(join(workers, 'work.mjs'));
  let iterations = 1e6;
  for (let round = 0; round < 3; round++) {
    const times: number[] = [];
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      cpu(iterations);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    iterations = Math.round((iterations * 5) / times[4]!);
  }
  return iterations;
}

const runner = caseArg();
if (runner !== undefined) {
  const workload = process.argv[3] as Workload;
  if (workload === 'cancel') await cancel();
  else if (workload === 'start') await start(runner);
  else await throughput(runner, workload);
} else {
  const out = mkdtempSync(join(tmpdir(), 'fanout-bench-threads-'));
  try {
    const tsc = spawnSync(
      process.execPath,
      [
        join(here, '../node_modules/typescript/bin/tsc'),
        '-p',
        'tsconfig.build.json',
        '--outDir',
        out,
      ],
      { cwd: join(here, '..'), encoding: 'utf8' },
    );
    if (tsc.error) throw tsc.error;
    process.env.FANOUT_DIST = out;
    process.env.BENCH_CPU_ITERS = String(await calibrate());
    const script = fileURLToPath(import.meta.url);
    type Row = {
      runner: string;
      workload: string;
      ms: number;
      best?: number;
      n?: number;
      rss?: number;
      max?: number;
    };
    const rows: Row[] = [];
    for (const workload of ['tiny', 'cpu'] as const) {
      for (const name of Object.keys(makers)) rows.push(isolated<Row>(script, [name, workload]));
    }
    const startRows = Object.keys(makers)
      .filter((name) => !name.startsWith('one thread'))
      .map((name) => isolated<Row>(script, [name, 'start']));
    const cancelRow = isolated<Row>(script, ['threadPool', 'cancel']);

    const inline = (w: string) =>
      rows.find((r) => r.workload === w && r.runner.startsWith('one thread'))!.ms;
    console.log(
      `fanOut over ${THREADS} threads, concurrency ${CONCURRENCY}; median of 3 runs (best in brackets). ` +
        `CPU task: ${process.env.BENCH_CPU_ITERS} iterations, about 5 ms on one core.\n`,
    );
    console.log(
      table(
        ['runner', 'workload', 'total ms', 'µs per task', 'speed-up vs one thread', 'peak RSS MB'],
        rows.map((r) => [
          r.runner,
          r.workload === 'tiny' ? `${TINY_N} × x => x + 1` : `${CPU_N} × ~5 ms CPU`,
          `${fmt(r.ms)} (${fmt(r.best ?? r.ms)})`,
          fmt((r.ms * 1000) / r.n!, 2),
          `${fmt(inline(r.workload) / r.ms, 2)}×`,
          fmt(r.rss ?? 0),
        ]),
      ),
    );
    console.log(
      '\nTime from creating the pool to the first result, every thread started (library already imported):\n',
    );
    console.log(
      table(
        ['runner', 'start ms'],
        startRows.map((r) => [r.runner, fmt(r.ms, 1)]),
      ),
    );
    console.log(
      `\nthreadPool cancellation of a running CPU task that polls ctx.signal.aborted: ` +
        `median ${fmt(cancelRow.ms, 2)} ms, worst of 30 ${fmt(cancelRow.max ?? 0, 2)} ms.`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
