// `fanout worker`: serves a task module's exports to BullMQ callers until
// told to stop.

import { listen } from '../internal/abort.ts';
import { type BullmqEntry, loadEntry, probeRedis, redisConnection } from './internal/executors.ts';
import { interrupts } from './internal/interrupt.ts';
import { loadModule, parseSpec, shown } from './internal/task-module.ts';

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
 * those still running after `grace` ms. A second signal while they finish
 * exits the process at once, with 130 for SIGINT or 143 for SIGTERM, as
 * `fanout run` and `fanout exec` do.
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
  // Listening before serving: a signal while it starts stops it right after.
  const stop = interrupts();
  try {
    const server = await bullmq.serveTasks({
      module: spec.url,
      connection,
      queue: options.queue,
      prefix: options.prefix,
      concurrency: options.concurrency,
    });
    process.stderr.write(
      `fanout worker: serving ${server.tasks.join(', ')} from ${shown(spec.url)} on queue "${options.queue}" (pid ${process.pid}); stop with Ctrl-C or SIGTERM\n`,
    );
    if (!stop.signal.aborted) {
      await new Promise<void>((resolve) => listen(stop.signal, resolve));
    }
    const sig = stop.exitCode() === 130 ? 'SIGINT' : 'SIGTERM';
    const grace = options.grace ?? 10_000;
    process.stderr.write(
      `fanout worker: ${sig}: taking no more jobs; active ones get ${grace} ms to finish, then go back to the queue\n`,
    );
    await server.close({ timeout: grace });
  } finally {
    stop.dispose();
  }
  process.stderr.write('fanout worker: stopped\n');
  return 0;
}
