// Loads the optional executors only when a flag asks for them, so that
// `fanout exec` and plain `fanout run` never load worker_threads, BullMQ or a
// Redis client.

import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { RedisOptions } from 'ioredis';
import type { TaskFn } from '../../task.ts';
import { loadTask, type TaskSpec } from './task-module.ts';
import { UsageError } from './usage.ts';

/** A task function on some executor, and how to release what it holds. */
export interface Executor {
  task: TaskFn<unknown, unknown>;
  close(): Promise<void>;
}

// Under tsx the sources run as .ts; once built, as .js.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Imports `../../<entry>/index` or says the build lacks it. */
export async function loadEntry<T>(entry: 'threads' | 'bullmq', flag: string): Promise<T> {
  const url = new URL(`../../${entry}/index${EXT}`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    throw new UsageError(
      `${flag} is not available: this build of fanout has no fanout/${entry}`,
      'run without it, or use a release of fanout that includes it',
    );
  }
  return (await import(url.href)) as T;
}

/** The connection options for a `--redis` URL, through fanout/bullmq's connectionFromUrl. */
export function redisConnection(entry: BullmqEntry, url: string): RedisOptions {
  try {
    return entry.connectionFromUrl(url);
  } catch (err) {
    throw new UsageError(
      `--redis "${url}": ${(err as Error).message.replace(/^connectionFromUrl: /, '')}`,
      'write it as redis://[user:password@]host[:port][/db], or rediss:// for TLS',
    );
  }
}

/**
 * Checks that something listens at the Redis address within `ms`, so that a
 * wrong URL fails with a message instead of a client retrying forever.
 */
export function probeRedis(connection: RedisOptions, ms = 3000): Promise<void> {
  const host = connection.host ?? '127.0.0.1';
  const port = connection.port ?? 6379;
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const fail = (why: string) => {
      socket.destroy();
      reject(
        new UsageError(
          `cannot reach Redis at ${host}:${port} (${why})`,
          'start Redis there, or give the right address with --redis redis://host:port',
        ),
      );
    };
    socket.setTimeout(ms, () => fail(`no answer within ${ms} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.message));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

/**
 * A thread pool of `size` threads running the spec's export. The module is
 * first loaded here too, so that a missing module or export fails at once
 * with the same message as without threads.
 */
export async function threadExecutor(spec: TaskSpec, size: number): Promise<Executor> {
  const threads = await loadEntry<ThreadsEntry>('threads', '--threads');
  await loadTask(spec);
  const pool = threads.threadPool({ module: spec.url, size });
  return { task: pool.task(spec.name), close: () => pool.close() };
}

/**
 * The spec's export on the workers that serve `queue` at the Redis `url`.
 * The module itself is not loaded here: it lives on the workers.
 */
export async function bullmqExecutor(
  spec: TaskSpec,
  url: string,
  queue: string,
  prefix: string | undefined,
): Promise<Executor> {
  const bullmq = await loadEntry<BullmqEntry>('bullmq', '--redis');
  const connection = redisConnection(bullmq, url);
  await probeRedis(connection);
  const cluster = bullmq.bullmqExecutor({ connection, queue, prefix });
  return { task: cluster.task(spec.name), close: () => cluster.close() };
}

// Types only: erased from the build, so nothing here loads those entry points.
type ThreadsEntry = typeof import('../../threads/index.ts');
export type BullmqEntry = typeof import('../../bullmq/index.ts');
