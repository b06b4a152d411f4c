// How many tasks a thread may hold, from how long tasks take: the pool keeps
// the rest in its own queue, where any thread that frees up can take them.

import { MAX_SLOTS } from './protocol.ts';
import type { Thread } from './thread.ts';

// How much work (in ms of measured task time) a thread may hold beyond the
// pool's own queue. Enough for tiny tasks to travel in big batches; small
// enough that long tasks stay in the pool's queue, where any thread that
// frees up can take them, instead of waiting behind each other in one thread.
const TARGET_MS = 2;
// Never fewer than two, so that a thread has its next task at hand when it
// finishes one and never waits for a round trip.
const MIN_CAP = 2;
// Until the first results tell how long tasks take.
const INITIAL_CAP = 4;

/** The per-thread limit on held tasks, from a moving average of measured task time. */
export class Capacity {
  cap = INITIAL_CAP;
  private busy = 0;
  private count = 0;

  /** A thread ran `n` tasks in `busy` ms of synchronous work. */
  measured(busy: number, n: number): void {
    // Halving the old sums each time lets the limit follow a change of
    // workload within a few messages.
    this.busy = this.busy * 0.5 + busy;
    this.count = this.count * 0.5 + n;
    const perTask = this.busy / this.count;
    this.cap =
      perTask > 0
        ? Math.max(MIN_CAP, Math.min(MAX_SLOTS, Math.ceil(TARGET_MS / perTask)))
        : MAX_SLOTS;
  }
}

/**
 * The load up to which to fill `open` (sorted by load, ascending) so that
 * `queued` jobs are spread evenly over the least loaded threads, never above
 * `cap`.
 */
export function fillLevel(open: Thread[], queued: number, cap: number): number {
  let sum = 0;
  for (let k = 0; k < open.length; k++) {
    sum += open[k]!.load;
    const next = k + 1 < open.length ? open[k + 1]!.load : cap;
    const level = Math.ceil((queued + sum) / (k + 1));
    if (level <= next) return Math.min(cap, level);
  }
  return cap;
}
