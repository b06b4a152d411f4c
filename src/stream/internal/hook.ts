// The single place where a map stage's task function is picked for a run.

import type { TaskFn } from '../../task.ts';
import { traceStage } from '../../tracing/pipeline.ts';

/** What a hook knows about the stage whose task it may wrap. */
export interface StageInfo {
  /** The API that made the stage: 'pipeline.map', 'pipeline.flatMap' or 'pipeline.forEach'. */
  api: string;
  /** The stage's position in its pipeline, counting from 0 at the source. */
  position: number;
  concurrency?: number;
  /** Total tries per item (retry.attempts). */
  attempts?: number;
  /** Whether each item gets a span of its own (`trace: 'items'`). */
  items?: boolean;
}

/**
 * Returns the function that a map, flatMap or forEach stage runs on every
 * item of one run. It is called once per stage per run, before any item,
 * so a wrapper made here may hold per-run state (a stage span); the wrapper
 * it returns is called per item with that item's TaskContext. Tracing
 * hooks in here; until then the task runs as given.
 */
export function stageTask<T, R>(fn: TaskFn<T, R>, stage: StageInfo): TaskFn<T, R> {
  return traceStage(fn, stage);
}
