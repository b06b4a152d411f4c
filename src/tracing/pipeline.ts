// The hooks a pipeline run calls: a span for the run, a child span per map,
// flatMap or forEach stage, and (with `trace: 'items'`) a span per item
// under its stage; the task metrics for every item. Stages are built
// synchronously inside the run's start, which is how a stage finds the run
// it belongs to without the pipeline passing it along.

import type { Context as OtelContext, Span } from '@opentelemetry/api';
import type { TaskContext, TaskFn } from '../task.ts';
import { otelApi } from './api.ts';
import { instruments, tracer } from './internal/providers.ts';
import { cancelled, markFailed, openScope, type Scope, tracingOn } from './internal/scope.ts';

/** What a stage tells the tracing hook about itself. */
export interface StageTrace {
  /** 'pipeline.map', 'pipeline.flatMap' or 'pipeline.forEach': the stage span's name. */
  api: string;
  /** The stage's position in its pipeline, counting from 0 at the source. */
  position: number;
  concurrency?: number;
  /** Total tries per item (retry.attempts), default 1. */
  attempts?: number;
  /** Whether each item gets a span (`trace: 'items'`). */
  items?: boolean;
}

/** Checks a stage's `trace` option: undefined or 'items'. */
export function checkTrace(api: string, arg: string, value: unknown): void {
  if (value !== undefined && value !== 'items') {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new TypeError(`${api}: ${arg} must be 'items' or undefined, got ${shown}`);
  }
}

/** The run whose stages are being built right now. */
let building: PipelineTrace | undefined;

/**
 * tracePipeline opens the trace of one pipeline run, a child of the span
 * active now, or returns undefined when nothing would be recorded.
 */
export function tracePipeline(signal: AbortSignal | undefined): PipelineTrace | undefined {
  if (!tracingOn()) return undefined;
  const t = tracer();
  const metricsOn = instruments() !== undefined;
  if (t === undefined && !metricsOn) return undefined;
  const api = otelApi()!;
  const active = api.context.active();
  let span: Span | undefined;
  if (t !== undefined) {
    span = t.startSpan('pipeline', { kind: api.SpanKind.INTERNAL }, active);
    if (!span.isRecording()) span = undefined;
  }
  if (span === undefined && !metricsOn) return undefined;
  return new PipelineTrace(
    span,
    span === undefined ? active : api.trace.setSpan(active, span),
    signal,
  );
}

/**
 * traceStage wraps the task of a stage being built for a traced run; in any
 * other case it returns `fn` itself, so an untraced pipeline pays nothing
 * per item.
 */
export function traceStage<T, R>(fn: TaskFn<T, R>, stage: StageTrace): TaskFn<T, R> {
  return building === undefined ? fn : building.stage(fn, stage);
}

/** The trace of one pipeline run. */
export class PipelineTrace {
  private readonly stages: Scope[] = [];
  private ended = false;

  constructor(
    private readonly span: Span | undefined,
    private readonly ctx: OtelContext,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Runs the synchronous build of the run's stages, which then find this run. */
  building<R>(build: () => R): R {
    const outer = building;
    building = this;
    try {
      return build();
    } finally {
      building = outer;
    }
  }

  stage<T, R>(fn: TaskFn<T, R>, stage: StageTrace): TaskFn<T, R> {
    const scope = openScope({
      api: stage.api,
      spanName: stage.api,
      taskName: 'fanout.task',
      parent: this.signal,
      attempts: stage.attempts ?? 1,
      parentContext: this.ctx,
      taskSpans: stage.items === true,
    });
    if (scope === undefined) return fn;
    this.stages.push(scope);
    if (scope.span !== undefined) {
      scope.span.setAttribute('fanout.stage.position', stage.position);
      const limit = stage.concurrency;
      if (limit !== undefined && Number.isFinite(limit)) {
        scope.span.setAttribute('fanout.concurrency', limit);
      }
    }
    return (item: T, ctx: TaskContext) =>
      scope.run(fn, item, ctx, ctx.index, ctx.attempt, ctx.signal, undefined);
  }

  /**
   * Ends the run's span and its stages' once the run has settled: an error
   * when it failed (on the stages whose items failed too), a cancellation
   * event when the caller's signal aborted it.
   */
  end(failed: boolean, error: unknown, aborted: boolean, early: boolean): void {
    if (this.ended) return;
    this.ended = true;
    const reason = aborted ? this.signal?.reason : undefined;
    for (const stage of this.stages) {
      if (failed && stage.failed > 0) stage.end(true, error);
      else if (aborted) stage.end(true, reason);
      else stage.end(false, undefined);
    }
    const span = this.span;
    if (span === undefined) return;
    if (early) span.setAttribute('fanout.pipeline.early_exit', true);
    if (failed) markFailed(span, error);
    else if (aborted) cancelled(span, reason);
    span.end();
  }
}
