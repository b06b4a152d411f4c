// Names of the Redis keys and the channel fanout adds next to BullMQ's own.
// Everything sits under BullMQ's `${prefix}:${queue}` so that one prefix
// namespaces it all.
//
// A caller's heartbeat and results list are touched together by one Lua
// script, so on Redis Cluster they must hash to one slot: when neither the
// prefix nor the queue carries a hash tag, the caller id becomes the tag.

/** The base BullMQ puts before every key of a queue. */
export function queueBase(prefix: string, queue: string): string {
  return `${prefix}:${queue}`;
}

/** The keys one caller (one executor, until its heartbeat lapses) owns. */
export interface CallerKeys {
  /** Exists while the caller is alive and has jobs out; expires when it dies. */
  heartbeat: string;
  /** The list workers push the caller's results onto. */
  results: string;
}

export function callerKeys(base: string, caller: string): CallerKeys {
  const tagged = base.includes('{') ? caller : `{${caller}}`;
  return {
    heartbeat: `${base}:fanout:${tagged}:hb`,
    results: `${base}:fanout:${tagged}:r`,
  };
}

/** The pub/sub channel every worker of the queue listens to for cancellations. */
export function cancelChannel(base: string): string {
  return `${base}:fanout:cancel`;
}
