// One task handed to a pool, from the call until its promise settles.

import type { TransferListItem } from 'node:worker_threads';
import type { TraceCarrier } from '../../tracing/propagation.ts';
import type { Thread } from './thread.ts';

export class Job {
  /** The thread holding it, once dispatched; its slot there. */
  thread: Thread | undefined = undefined;
  slot = -1;
  done = false;
  /** The caller's signal aborted while the job was held by a thread. */
  aborted = false;
  /** Objects to move rather than copy, from transfer(). */
  moves: readonly TransferListItem[] | undefined = undefined;
  // Links in the list of jobs that share the caller's signal.
  prev: Job | undefined = undefined;
  next: Job | undefined = undefined;
  watch: Watch | undefined = undefined;

  constructor(
    readonly name: string,
    public input: unknown,
    readonly index: number,
    readonly attempt: number,
    readonly signal: AbortSignal | undefined,
    readonly trace: TraceCarrier | undefined,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
  ) {}
}

/** The jobs waiting on one caller signal, behind that signal's one listener. */
export class Watch {
  constructor(readonly signal: AbortSignal) {}
  head: Job | undefined = undefined;
  count = 0;
  unlisten: () => void = () => {};

  add(job: Job): void {
    job.watch = this;
    job.next = this.head;
    if (this.head !== undefined) this.head.prev = job;
    this.head = job;
    this.count++;
  }

  /** Unlinks `job`; returns true when it was the last one. */
  remove(job: Job): boolean {
    if (job.prev !== undefined) job.prev.next = job.next;
    else this.head = job.next;
    if (job.next !== undefined) job.next.prev = job.prev;
    job.prev = job.next = job.watch = undefined;
    return --this.count === 0;
  }
}
