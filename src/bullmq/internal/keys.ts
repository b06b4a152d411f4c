// Names of the Redis key and the channel fanout adds next to BullMQ's own.
// Everything sits under BullMQ's `${prefix}:${queue}` so that one prefix
// namespaces it all.

/** The base BullMQ puts before every key of a queue. */
export function queueBase(prefix: string, queue: string): string {
  return `${prefix}:${queue}`;
}

/**
 * The one key a caller (an executor, until its heartbeat lapses) owns: a
 * stream its results arrive on, which is also its heartbeat. It exists,
 * with a short TTL the caller keeps renewing, only while the caller has
 * jobs out; workers add to it with NOMKSTREAM, so once it is gone (the
 * caller died or is done) nothing can bring it back.
 */
export function callerKey(base: string, caller: string): string {
  return `${base}:fanout:${caller}`;
}

/** The pub/sub channel every worker of the queue listens to for cancellations. */
export function cancelChannel(base: string): string {
  return `${base}:fanout:cancel`;
}
