// Loads the optional executors only when a flag asks for them, so that
// `fanout exec` and plain `fanout run` never load worker_threads, BullMQ or a
// Redis client.

import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { TaskFn } from '../../task.ts';
import type { TaskSpec } from './task-module.ts';
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

/**
 * Turns `redis://[user:password@]host[:port][/db]` (or rediss:// for TLS)
 * into the connection options BullMQ passes to its Redis client.
 */
export function redisConnection(url: string): Record<string, unknown> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--redis "${url}" is not a URL`, 'write it as redis://host:6379');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new UsageError(
      `--redis "${url}" is not a redis:// or rediss:// URL`,
      'write it as redis://host:6379',
    );
  }
  const options: Record<string, unknown> = {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    // BullMQ's workers block on Redis; it asks for this setting.
    maxRetriesPerRequest: null,
  };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  const db = u.pathname.slice(1);
  if (db) options.db = Number(db);
  if (u.protocol === 'rediss:') options.tls = {};
  return options;
}

/**
 * Checks that something listens at the Redis address within `ms`, so that a
 * wrong URL fails with a message instead of a client retrying forever.
 */
export function probeRedis(url: string, ms = 3000): Promise<void> {
  const { host, port } = redisConnection(url) as { host: string; port: number };
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

/** A thread pool of `size` threads running the spec's export. */
export async function threadExecutor(spec: TaskSpec, size: number): Promise<Executor> {
  const threads = await loadEntry<ThreadsEntry>('threads', '--threads');
  const pool = threads.threadPool({ module: spec.url, size });
  return { task: pool.task(spec.name), close: () => pool.close() };
}

/** The spec's export on the workers that serve `queue` at the Redis `url`. */
export async function bullmqExecutor(
  spec: TaskSpec,
  url: string,
  queue: string,
): Promise<Executor> {
  const bullmq = await loadEntry<BullmqEntry>('bullmq', '--redis');
  await probeRedis(url);
  const cluster = bullmq.bullmqExecutor({ connection: redisConnection(url), queue });
  return { task: cluster.task(spec.name), close: () => cluster.close() };
}

// The shapes of the entry points this file uses, written out so that the
// command compiles whether or not those entry points are built.
interface ThreadsEntry {
  threadPool(options: { module: URL; size: number }): {
    task(name: string): TaskFn<unknown, unknown>;
    close(): Promise<void>;
  };
}
interface BullmqEntry {
  bullmqExecutor(options: { connection: Record<string, unknown>; queue: string }): {
    task(name: string): TaskFn<unknown, unknown>;
    close(): Promise<void>;
  };
}
