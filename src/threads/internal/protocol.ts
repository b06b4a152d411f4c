// The messages between a pool and its worker threads. Batches are flat
// arrays rather than arrays of objects: the structured clone of a few
// primitives per task is what a tiny task costs, so every field counts.

import type { Encoded } from '../../internal/error-codec.ts';
import type { TraceCarrier } from '../../tracing/propagation.ts';

/** Pool to worker: run tasks. */
export const RUN = 0;
/** Pool to worker: the caller aborted the tasks in these slots. */
export const ABORT = 1;
/** Worker to pool: setup and task module loaded; `exports` names the task functions. */
export const READY = 2;
/** Worker to pool: the setup or task module failed to load. */
export const FAILED = 3;
/** Worker to pool: results, and the cost of the work since the last RESULTS. */
export const RESULTS = 4;

/** Entries per task in RunMessage.b: slot, index, input. */
export const RUN_STRIDE = 3;

/** Statuses of the failures in RESULTS.err (triples: slot, status, payload). */
export const THREW = 0; // payload: the encoded error or thrown value
export const ECHO = 1; // the task ended with its own abort reason: the caller's reason applies
export const NO_TASK = 2; // payload: a message; the module has no such function export
export const UNCLONEABLE = 3; // payload: a message; the result could not be sent back
export const RECALLED = 4; // the pool took the task back before it started: the slot is free

/**
 * States of a task slot's shared flag. The pool writes QUEUED when it hands
 * a task over; the worker moves it to STARTED with a compare-and-swap when
 * it starts the task, unless the pool got there first: with ABORTED (set
 * with an `or`, so it also marks a started task) or RECALLED (a swap from
 * QUEUED, to move the task to an idle thread).
 */
export const QUEUED = 0;
export const ABORTED = 1;
export const STARTED = 2;
export const RECALLED_FLAG = 4;

export interface RunMessage {
  t: typeof RUN;
  /** RUN_STRIDE entries per task: slot, index, input. */
  b: unknown[];
  /** The name of every task, when they share one. */
  name: string | undefined;
  /** Otherwise the name of each task. */
  names: string[] | undefined;
  /** Each task's attempt, only when one is not the first; else all are 1. */
  attempts: number[] | undefined;
  /** Each task's trace carrier, only when one has a trace. */
  traces: (TraceCarrier | undefined)[] | undefined;
}

export interface AbortMessage {
  t: typeof ABORT;
  slots: number[];
  reason: Encoded | undefined;
}

export interface ReadyMessage {
  t: typeof READY;
  exports: string[];
}

export interface FailedMessage {
  t: typeof FAILED;
  stage: 'setup' | 'module';
  error: Encoded;
}

export interface ResultsMessage {
  t: typeof RESULTS;
  /** Pairs: slot, value. */
  ok: unknown[];
  /** Triples: slot, status, payload; absent when nothing failed. */
  err: unknown[] | undefined;
  /** Milliseconds the worker spent running task code synchronously since the last message. */
  busy: number;
  /** Tasks started in that time. */
  n: number;
}

export type ToWorker = RunMessage | AbortMessage;
export type FromWorker = ReadyMessage | FailedMessage | ResultsMessage;

/** What each worker receives as `workerData`. */
export interface WorkerInit {
  module: string;
  setup: string | undefined;
  /** One Int32 per task slot, holding the states above. */
  flags: SharedArrayBuffer;
  /** Set when a bootstrap must register tsx before importing `entry`. */
  tsx?: string;
  entry?: string;
}

/** How many tasks one worker can hold at once: the size of its flag array. */
export const MAX_SLOTS = 1024;
