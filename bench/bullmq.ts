// fanout/bullmq against plain BullMQ doing the same work, with two worker
// processes of concurrency 50 each: 10,000 tiny tasks (n => n * 2) and
// 1,000 tasks that wait 2 ms. Plain BullMQ adds every job with
// Queue.addBulk (chunks of 1,000), runs a Worker and collects results with
// QueueEvents; fanout runs fanOut(inputs, cluster.task(...), { concurrency:
// 1000 }). Also: the time from a task's failure (its throw, on a worker) to
// the last running job's signal aborting, 99 jobs spread over both workers.
//
//   node --import tsx bench/bullmq.ts               # the whole table (skips without Redis)
//   node --import tsx bench/bullmq.ts tiny          # one case: tiny, 2ms or cancel
//
// BENCH_REDIS (default redis://127.0.0.1:6379), BENCH_RUNS (default 7 pairs of
// runs, plain then fanout, after a warm-up of each; the medians count).

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { type ConnectionOptions, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { bullmqExecutor, connectionFromUrl } from '../src/bullmq/index.ts';
import { fanOut } from '../src/index.ts';
import { caseArg, fmt, isolated, peakRssMb, report, table } from './lib.ts';

const connection = connectionFromUrl(process.env.BENCH_REDIS ?? 'redis://127.0.0.1:6379');
// bullmq types ioredis options on its own; the object is the same.
const plain = connection as unknown as ConnectionOptions;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const WORKER_CONCURRENCY = 50;
const WINDOW = Number(process.env.BENCH_WINDOW ?? 1000);
const work = {
  tiny: { n: 10_000, ms: 0 },
  '2ms': { n: 1_000, ms: 2 },
} as const;
type Work = keyof typeof work;
const here = new URL('.', import.meta.url).pathname;
const fixture = new URL('../test/fixtures/bullmq-worker.ts', import.meta.url).pathname;

interface Spawned {
  child: ChildProcess;
  events: { event: string; at: number }[];
}

async function spawnWorker(args: string[], env: Record<string, string>): Promise<Spawned> {
  // BENCH_PROFILE=dir: every worker writes a CPU profile there.
  const profile = process.env.BENCH_PROFILE;
  const prof = profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const events: Spawned['events'] = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line);
      if (e.event === 'ready') resolve();
      else events.push(e);
    });
  });
  await ready;
  return { child, events };
}

async function stop(workers: Spawned[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise((resolve) => {
          w.child.once('exit', resolve);
          w.child.kill('SIGTERM');
        }),
    ),
  );
}

async function clean(prefix: string): Promise<void> {
  const redis = new Redis(connection);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

interface Runner {
  /** Runs the whole batch once; returns ns. */
  once(): Promise<number>;
  close(): Promise<void>;
}

async function fanoutRunner(kind: Work, prefix: string): Promise<Runner> {
  const { n, ms } = work[kind];
  const cluster = bullmqExecutor({ connection, queue: 'bench', prefix });
  const task = cluster.task<unknown, number>(kind === 'tiny' ? 'double' : 'pause');
  const inputs = Array.from({ length: n }, (_, i) => (kind === 'tiny' ? i : { n: i, ms }));
  return {
    async once() {
      const t0 = process.hrtime.bigint();
      const out = await fanOut(inputs, task, { concurrency: WINDOW });
      const ns = Number(process.hrtime.bigint() - t0);
      if (out[n - 1] !== (n - 1) * 2) throw new Error('wrong result');
      return ns;
    },
    close: () => cluster.close(),
  };
}

async function bullmqRunner(kind: Work, prefix: string): Promise<Runner> {
  const { n, ms } = work[kind];
  // The default events stream (~10,000 entries) drops completions under
  // this load, and the run then never ends: plain BullMQ needs a longer one.
  const queue = new Queue('bench', {
    connection: plain,
    prefix,
    streams: { events: { maxLen: 200_000 } },
  });
  const events = new QueueEvents('bench', { connection: plain, prefix });
  await events.waitUntilReady();
  let results: unknown[] = [];
  let left = 0;
  let finished: () => void = () => {};
  events.on('completed', ({ jobId, returnvalue }) => {
    const dash = jobId.lastIndexOf('-');
    results[Number(jobId.slice(dash + 1))] =
      typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue;
    if (--left === 0) finished();
  });
  let run = 0;
  return {
    async once() {
      const t0 = process.hrtime.bigint();
      run++;
      results = new Array(n);
      left = n;
      const done = new Promise<void>((resolve) => {
        finished = resolve;
      });
      for (let from = 0; from < n; from += 1000) {
        const jobs = [];
        for (let i = from; i < Math.min(n, from + 1000); i++) {
          jobs.push({
            name: 'work',
            data: { n: i, ms },
            opts: { jobId: `r${run}-${i}`, removeOnComplete: true, removeOnFail: true },
          });
        }
        await queue.addBulk(jobs);
      }
      await done;
      const ns = Number(process.hrtime.bigint() - t0);
      if (results[n - 1] !== (n - 1) * 2) throw new Error(`wrong result ${results[n - 1]}`);
      return ns;
    },
    async close() {
      await events.close();
      await queue.close();
    },
  };
}

/** A plain BullMQ worker process: `bench/bullmq.ts worker-plain <prefix>`. */
async function plainWorker(prefix: string): Promise<void> {
  const worker = new Worker(
    'bench',
    async (job) => {
      if (job.data.ms > 0) await delay(job.data.ms);
      return job.data.n * 2;
    },
    {
      connection: { ...plain, maxRetriesPerRequest: null },
      prefix,
      concurrency: WORKER_CONCURRENCY,
    },
  );
  await worker.waitUntilReady();
  process.stdout.write('{"event":"ready"}\n');
  process.once('SIGTERM', () => worker.close(true).then(() => process.exit(0)));
}

/**
 * Both, in one process and alternating run by run, so that the load other
 * processes put on the machine hits both alike: each has its own two
 * worker processes, idle while the other runs.
 */
async function throughput(kind: Work): Promise<void> {
  const stamp = `${process.pid}-${Date.now()}`;
  const ours = `bench-bullmq-fanout-${stamp}`;
  const theirs = `bench-bullmq-plain-${stamp}`;
  const fanoutEnv = {
    FANOUT_WORKER: JSON.stringify({
      queue: 'bench',
      prefix: ours,
      concurrency: WORKER_CONCURRENCY,
    }),
  };
  const workers = await Promise.all([
    spawnWorker([fixture], fanoutEnv),
    spawnWorker([fixture], fanoutEnv),
    spawnWorker([`${here}bullmq.ts`, 'worker-plain', theirs], {}),
    spawnWorker([`${here}bullmq.ts`, 'worker-plain', theirs], {}),
  ]);
  const a = await fanoutRunner(kind, ours);
  const b = await bullmqRunner(kind, theirs);
  try {
    await a.once(); // warm-up
    await b.once();
    const fanoutNs: number[] = [];
    const plainNs: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      plainNs.push(await b.once());
      fanoutNs.push(await a.once());
    }
    const n = work[kind].n;
    report({
      case: kind,
      fanoutNsPerTask: median(fanoutNs) / n,
      plainNsPerTask: median(plainNs) / n,
      ratio: median(plainNs) / median(fanoutNs),
      pairRatio: median(fanoutNs.map((ns, i) => plainNs[i]! / ns)),
      rssMb: peakRssMb(),
    });
  } finally {
    await a.close();
    await b.close();
    await stop(workers);
    await clean(ours);
    await clean(theirs);
  }
}

/** Time from a failure on one worker to the last abort of 99 running jobs on two. */
async function cancelLatency(): Promise<void> {
  const prefix = `bench-bullmq-cancel-${process.pid}-${Date.now()}`;
  const env = {
    FANOUT_WORKER: JSON.stringify({ queue: 'bench', prefix, concurrency: WORKER_CONCURRENCY }),
  };
  const workers = await Promise.all([0, 1].map(() => spawnWorker([fixture], env)));
  const cluster = bullmqExecutor({ connection, queue: 'bench', prefix });
  const latencies: number[] = [];
  try {
    for (let r = 0; r < Math.max(RUNS, 3); r++) {
      for (const w of workers) w.events.length = 0;
      const inputs = Array.from({ length: 100 }, (_, i) => i);
      const block = cluster.task('block');
      const fail = cluster.task('fail');
      await fanOut(
        inputs,
        (i, ctx) =>
          i === 99 ? fail({ ms: 300, message: 'boom', code: 'E_BOOM' }, ctx) : block(i, ctx),
        { concurrency: 100 },
      ).catch(() => {});
      const all = workers.flatMap((w) => w.events);
      const failedAt = all.find((e) => e.event === 'failing')!.at;
      const aborted = all.filter((e) => e.event === 'aborted');
      if (aborted.length !== 99) throw new Error(`only ${aborted.length} of 99 jobs aborted`);
      latencies.push(Math.max(...aborted.map((e) => e.at)) - failedAt);
    }
    report({
      case: 'cancel',
      latencyMs: median(latencies),
      maxMs: Math.max(...latencies),
      rssMb: peakRssMb(),
    });
  } finally {
    await cluster.close();
    await stop(workers);
    await clean(prefix);
  }
}

async function redisAnswers(): Promise<boolean> {
  const redis = new Redis({
    ...connection,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const arg = caseArg();
if (arg === 'worker-plain') {
  await plainWorker(process.argv[3]!);
} else if (arg === 'cancel') {
  await cancelLatency();
} else if (arg === 'tiny' || arg === '2ms') {
  await throughput(arg);
  process.exit(0);
} else if (!(await redisAnswers())) {
  console.log('(skipped: no Redis answers at BENCH_REDIS or 127.0.0.1:6379)');
} else {
  const rows: (string | number)[][] = [];
  for (const kind of Object.keys(work) as Work[]) {
    const r = isolated<{
      fanoutNsPerTask: number;
      plainNsPerTask: number;
      ratio: number;
      pairRatio: number;
      rssMb: number;
    }>(`${here}bullmq.ts`, [kind]);
    const { n } = work[kind];
    rows.push([
      `${n} × ${kind}`,
      fmt(1e9 / r.plainNsPerTask),
      fmt(1e9 / r.fanoutNsPerTask),
      fmt(r.ratio, 2),
      fmt(r.pairRatio, 2),
      fmt(r.rssMb),
    ]);
  }
  console.log(
    table(
      [
        'work',
        'plain BullMQ tasks/s',
        'fanout/bullmq tasks/s',
        'fanout ÷ plain (medians)',
        'fanout ÷ plain (median of pairs)',
        'caller peak RSS MB (both)',
      ],
      rows,
    ),
  );
  const c = isolated<{ latencyMs: number; maxMs: number }>(`${here}bullmq.ts`, ['cancel']);
  console.log(
    `\nFirst failure to the last of 99 running jobs' signals aborting (2 workers): median ${fmt(c.latencyMs)} ms, max ${fmt(c.maxMs)} ms (target ≤ 100 ms).`,
  );
}
