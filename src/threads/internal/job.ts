// One task handed to a pool, from the call until its promise settles.

import type { TransferListItem } from 'node:worker_threads';
import type { GroupMember, SignalGroup } from '../../internal/signal-group.ts';
import type { TraceCarrier } from '../../tracing/propagation.ts';
import type { Thread } from './thread.ts';

export class Job implements GroupMember<Job> {
  /** The thread holding it, once dispatched; its slot there. */
  thread: Thread | undefined = undefined;
  slot = -1;
  done = false;
  /** The caller's signal aborted while the job was held by a thread. */
  aborted = false;
  /** Objects to move rather than copy, from transfer(). */
  moves: readonly TransferListItem[] | undefined = undefined;
  // Links in the group of jobs that share the caller's signal.
  prev: Job | undefined = undefined;
  next: Job | undefined = undefined;
  group: SignalGroup<Job> | undefined = undefined;

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
