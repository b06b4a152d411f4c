// fanOut across processes and machines through fanout/bullmq: two task
// servers (here in this process; `fanout worker` on other machines) and a
// caller, all on one Redis. Results come back in order; a failure on one
// worker cancels the jobs running on the others.
//
// Run: node --import tsx examples/bullmq.ts   (needs Redis on 127.0.0.1:6379,
// or REDIS_URL)

import { Redis } from 'ioredis';
import { bullmqExecutor, connectionFromUrl, serveTasks } from '../src/bullmq/index.ts';
import { fanOut } from '../src/index.ts';
import { stats } from './tasks/hash.ts';

const connection = connectionFromUrl(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
// A prefix of its own, removed at the end, so that the example leaves nothing behind.
const prefix = `fanout-example-${process.pid}`;
const queue = 'hash';
const module = new URL('./tasks/hash.ts', import.meta.url);

const servers = await Promise.all(
  [1, 2].map(() => serveTasks({ module, connection, queue, prefix, concurrency: 4 })),
);
const cluster = bullmqExecutor({ connection, queue, prefix });
try {
  const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'];
  let t0 = performance.now();
  const out = await fanOut(
    names.map((name) => ({ name })),
    cluster.task('check'),
    { concurrency: 8 },
  );
  console.log(
    `6 jobs over 2 servers: ${out.join(', ')} (${(performance.now() - t0).toFixed(0)} ms)`,
  );

  t0 = performance.now();
  const error = await fanOut(
    names.map((name, i) => ({ name, bad: i === 3 })),
    cluster.task('check'),
    { concurrency: 8 },
  ).catch((e: Error & { code?: string }) => e);
  console.log(
    `with a bad job: rejected with "${(error as Error).message}" (code ${(error as { code?: string }).code}) after ${(performance.now() - t0).toFixed(0)} ms; ${stats.cancelled} running siblings were cancelled on their servers`,
  );
} finally {
  await cluster.close();
  await Promise.all(servers.map((s) => s.close()));
  const redis = new Redis(connection);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}
