// The metrics of one call or group. Histograms get a value per attempt;
// the counters are summed here and handed to the SDK at most every
// FLUSH_MS and when the call ends, because the SDK hashes the attributes
// of every single add: per task that cost more than the task itself.

import type { Attributes } from '@opentelemetry/api';
import type { Instruments } from './providers.ts';

/** How stale the counters may get while a call runs. */
const FLUSH_MS = 100;

// Slots of the pending deltas; retries use the same slots after RETRY.
const STARTED = 0;
const ACTIVE = 1;
const SUCCEEDED = 2;
const FAILED = 3;
const CANCELLED = 4;
const RETRY = 5;

/** An attempt's outcome, as Scope counts them: 0 succeeded, 1 failed, 2 cancelled. */
export type OutcomeSlot = 0 | 1 | 2;

export class TaskMetrics {
  private readonly pending = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  private readonly attrs: Attributes;
  private readonly retryAttrs: Attributes;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly flushLater = () => this.flush();

  constructor(
    private readonly m: Instruments,
    api: string,
    taskName: string,
  ) {
    this.attrs = { 'fanout.api': api, 'fanout.task.name': taskName };
    this.retryAttrs = { ...this.attrs, 'fanout.task.retry': true };
  }

  /** An attempt starts; `waitMs` is its slot wait (first attempts only). */
  started(retry: boolean, waitMs: number | undefined): void {
    const base = retry ? RETRY : 0;
    this.pending[base + STARTED]++;
    this.pending[base + ACTIVE]++;
    if (waitMs !== undefined) this.m.slotWait.record(waitMs / 1000, this.attrs);
    this.schedule();
  }

  /** An attempt ended after `seconds`. */
  settled(retry: boolean, outcome: OutcomeSlot, seconds: number): void {
    const base = retry ? RETRY : 0;
    this.pending[base + ACTIVE]--;
    this.pending[base + SUCCEEDED + outcome]++;
    this.m.duration.record(seconds, retry ? this.retryAttrs : this.attrs);
    this.schedule();
  }

  /** Hands the pending counts to the SDK now. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const p = this.pending;
    const m = this.m;
    for (let base = 0; base <= RETRY; base += RETRY) {
      const attrs = base === 0 ? this.attrs : this.retryAttrs;
      if (p[base + STARTED] !== 0) m.started.add(p[base + STARTED]!, attrs);
      if (p[base + ACTIVE] !== 0) m.active.add(p[base + ACTIVE]!, attrs);
      if (p[base + SUCCEEDED] !== 0) m.succeeded.add(p[base + SUCCEEDED]!, attrs);
      if (p[base + FAILED] !== 0) m.failed.add(p[base + FAILED]!, attrs);
      if (p[base + CANCELLED] !== 0) m.cancelled.add(p[base + CANCELLED]!, attrs);
    }
    p.fill(0);
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(this.flushLater, FLUSH_MS);
    // A pending flush must not keep the process alive.
    this.timer.unref?.();
  }
}
