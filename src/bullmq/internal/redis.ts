// Opens the Redis connections of callers and workers, to one server (ioredis
// options) or to a Redis Cluster (its startup nodes and Cluster options).

import { Cluster, Redis } from 'ioredis';
import type { ClusterConnection, ConnectionOptions } from '../connection.ts';

/** What fanout uses of a client; a Redis and a Cluster both have it. */
export type Client = Redis;

export function isCluster(
  connection: ConnectionOptions | ClusterConnection,
): connection is ClusterConnection {
  return Array.isArray((connection as ClusterConnection).nodes);
}

/**
 * A new client. `blocking`: commands wait for Redis to come back however
 * long it takes, as BullMQ requires of workers and as a blocking reader wants.
 */
export function createClient(
  connection: ConnectionOptions | ClusterConnection,
  blocking: boolean,
): Client {
  if (!isCluster(connection)) {
    return new Redis(blocking ? { ...connection, maxRetriesPerRequest: null } : connection);
  }
  const options = connection.options ?? {};
  const redisOptions = blocking
    ? { ...options.redisOptions, maxRetriesPerRequest: null }
    : options.redisOptions;
  // Typed as Redis: the commands fanout sends have the same shape on both.
  return new Cluster(connection.nodes, { ...options, redisOptions }) as unknown as Redis;
}
