// The messages between callers and workers: what a job carries and what a
// worker sends back. Short field names: they are paid for once per task.

import type { Encoded } from '../../internal/error-codec.ts';
import type { TraceCarrier } from '../../tracing/propagation.ts';

/** A job's data. The job's name is the task's name. */
export interface JobData {
  /** The caller's id: where the result goes, whose heartbeat to check. */
  c: string;
  /** The caller's cancellation group (one per AbortSignal). */
  g: number;
  /** The task's index in its call. */
  x: number;
  /** The input as JSON; absent for `undefined`. */
  i?: string;
  /** The trace context. */
  t?: TraceCarrier;
  /** An idempotency key chosen by the caller; the job id otherwise. */
  k?: string;
  /** The caller's output limit, when it is not the default. */
  m?: number;
}

/** A result as pushed to the caller: `{ j, v }`, or `{ j, e, x? }` for an error. */
export interface ResultMessage {
  /** The job id. */
  j: string;
  /** The output. */
  v?: unknown;
  /** The error. */
  e?: Encoded;
  /** 1 when the task ended because its caller cancelled it. */
  x?: 1;
}

/** Builds `{ j, v }` around output JSON that is already serialised. */
export function valueMessage(jobId: string, json: string | undefined): string {
  const id = JSON.stringify(jobId);
  return json === undefined ? `{"j":${id}}` : `{"j":${id},"v":${json}}`;
}

export function errorMessage(jobId: string, error: Encoded, cancelled: boolean): string {
  const m: ResultMessage = { j: jobId, e: error };
  if (cancelled) m.x = 1;
  return JSON.stringify(m);
}

/** The cancel message for one group of one caller. */
export function cancelMessage(caller: string, group: number): string {
  return `${caller}/${group}`;
}
