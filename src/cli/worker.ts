// `fanout worker`: serves a task module's exports to BullMQ callers until
// told to stop.

import { type BullmqEntry, loadEntry, probeRedis, redisConnection } from './internal/executors.ts';
import { loadModule, parseSpec } from './internal/task-module.ts';

/** The options of `fanout worker`, as parsed from its flags. */
export interface WorkerOptions {
  redis: string;
  queue: string;
  /** The Redis key prefix (default 'fanout'). */
  prefix?: string;
  /** Jobs at once in this process. */
  concurrency?: number;
  /** ms to let active jobs finish after SIGTERM before handing them back (default 10 s). */
  grace?: number;
}

/**
 * worker serves the exports of `module` (a path; any `#name` is ignored) on
 * `queue` and resolves with exit code 0 once a SIGTERM or SIGINT has made it
 * stop taking jobs and finish the active ones, handing back to the queue
 * those still running after `grace` ms.
 *
 * @throws UsageError for a missing module, a bad URL or an unreachable Redis.
 * @example
 * ```ts
 * await worker('./tasks.js', { redis: 'redis://127.0.0.1:6379', queue: 'images', concurrency: 8 })
 * ```
 */
export async function worker(module: string, options: WorkerOptions): Promise<number> {
  const spec = parseSpec(module);
  const bullmq = await loadEntry<BullmqEntry>('bullmq', 'fanout worker');
  // Loading here first turns a missing or broken module into a clear error now.
  await loadModule(spec);
  const connection = redisConnection(bullmq, options.redis);
  await probeRedis(connection);
  const stopping = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const server = await bullmq.serveTasks({
    module: spec.url,
    connection,
    queue: options.queue,
    prefix: options.prefix,
    concurrency: options.concurrency,
  });
  process.stderr.write(
    `fanout worker: serving ${server.tasks.join(', ')} from ${spec.url.pathname} on queue "${options.queue}" (pid ${process.pid}); stop with Ctrl-C or SIGTERM\n`,
  );
  const sig = await stopping;
  const grace = options.grace ?? 10_000;
  process.stderr.write(
    `fanout worker: ${sig}: taking no more jobs; active ones get ${grace} ms to finish, then go back to the queue\n`,
  );
  // A second signal while closing means: now.
  const again = () => process.exit(sig === 'SIGINT' ? 130 : 143);
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  await server.close({ timeout: grace });
  process.stderr.write('fanout worker: stopped\n');
  return 0;
}
