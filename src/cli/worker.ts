// `fanout worker`: serves a task module's exports to BullMQ callers until
// told to stop.

import { loadEntry, probeRedis, redisConnection } from './internal/executors.ts';
import { loadModule, parseSpec } from './internal/task-module.ts';

/** The options of `fanout worker`, as parsed from its flags. */
export interface WorkerOptions {
  redis: string;
  queue: string;
  /** Jobs at once in this process. */
  concurrency?: number;
}

interface BullmqEntry {
  serveTasks(options: {
    module: URL;
    connection: Record<string, unknown>;
    queue: string;
    concurrency?: number;
  }): Promise<{ close(): Promise<void> }>;
}

/**
 * worker serves `module` on `queue` and resolves with exit code 0 once a
 * SIGTERM or SIGINT has made it stop taking jobs and finish (or hand back)
 * the active ones.
 */
export async function worker(module: string, options: WorkerOptions): Promise<number> {
  const spec = parseSpec(module.includes('#') ? module : `${module}#default`);
  const bullmq = await loadEntry<BullmqEntry>('bullmq', 'fanout worker');
  // Loading here first turns a missing or broken module into a clear error now.
  await loadModule(spec);
  await probeRedis(options.redis);
  const stopping = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const server = await bullmq.serveTasks({
    module: spec.url,
    connection: redisConnection(options.redis),
    queue: options.queue,
    concurrency: options.concurrency,
  });
  process.stderr.write(
    `fanout worker: serving ${spec.url.pathname} on queue "${options.queue}" (pid ${process.pid}); stop with Ctrl-C or SIGTERM\n`,
  );
  const sig = await stopping;
  process.stderr.write(`fanout worker: ${sig}: finishing active jobs\n`);
  // A second signal while closing means: now.
  const again = () => process.exit(sig === 'SIGINT' ? 130 : 143);
  process.once('SIGTERM', again);
  process.once('SIGINT', again);
  await server.close();
  process.stderr.write('fanout worker: stopped\n');
  return 0;
}
