// How callers and workers reach Redis: ioredis options, and a helper that
// turns the `redis://` URL a command line takes into them.

import type { ClusterNode, ClusterOptions, RedisOptions } from 'ioredis';

/**
 * ConnectionOptions are ioredis options, passed through as they are: host,
 * port, `username` (ACL user), `password`, `db`, `tls`, timeouts, and so on.
 * Use {@link connectionFromUrl} to build them from a URL.
 */
export type ConnectionOptions = RedisOptions;

/**
 * ClusterConnection reaches a Redis Cluster: `nodes` are startup nodes
 * (`'host:port'`, a port, or `{ host, port }`) and `options` are ioredis
 * Cluster options, with per-node settings such as `password` or `tls` under
 * `options.redisOptions`. Put a hash tag in the prefix (`'{jobs}'`) so that
 * each queue's keys share one slot, as BullMQ requires on a cluster.
 *
 * @example
 * ```ts
 * const connection = { nodes: ['10.0.0.1:6379', '10.0.0.2:6379'], options: { redisOptions: { password } } }
 * const cluster = bullmqExecutor({ connection, queue: 'images', prefix: '{images}' })
 * ```
 */
export interface ClusterConnection {
  nodes: ClusterNode[];
  options?: ClusterOptions;
}

/**
 * connectionFromUrl turns a Redis URL into {@link ConnectionOptions}.
 *
 * `redis://[user[:password]@]host[:port][/db]` maps to `host`, `port`
 * (default 6379), `username`, `password` and `db`; user and password are
 * percent-decoded. `rediss://` does the same and adds `tls: { servername: host }`.
 * Query parameters `family` (4 or 6) and `name` (the connection name) are
 * read too; any other parameter throws. It never connects.
 *
 * @throws TypeError for a URL that does not parse, another scheme, a bad db
 *   number or an unknown parameter.
 * @example
 * ```ts
 * const connection = connectionFromUrl(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379')
 * const cluster = bullmqExecutor({ connection, queue: 'images' })
 * ```
 */
export function connectionFromUrl(url: string | URL): ConnectionOptions {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    throw new TypeError(
      `connectionFromUrl: url must be a redis:// or rediss:// URL, got ${JSON.stringify(url)}`,
    );
  }
  if (!(u instanceof URL)) {
    throw new TypeError(`connectionFromUrl: url must be a string or a URL, got ${typeof url}`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new TypeError(
      `connectionFromUrl: url must use redis: or rediss:, got ${JSON.stringify(u.protocol)}`,
    );
  }
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const options: ConnectionOptions = {
    host: host || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
  };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  const path = u.pathname.replace(/^\//, '');
  if (path) {
    const db = Number(path);
    if (!Number.isInteger(db) || db < 0) {
      throw new TypeError(
        `connectionFromUrl: the database must be an integer >= 0, got ${JSON.stringify(path)}`,
      );
    }
    options.db = db;
  }
  for (const [name, value] of u.searchParams) {
    if (name === 'family' && (value === '4' || value === '6')) options.family = Number(value);
    else if (name === 'name') options.connectionName = value;
    else
      throw new TypeError(
        `connectionFromUrl: unknown parameter ${JSON.stringify(name)} in the URL`,
      );
  }
  if (u.protocol === 'rediss:') options.tls = { servername: host };
  return options;
}
