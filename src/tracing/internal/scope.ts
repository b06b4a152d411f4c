// What fanOut, fanOutSettled, Group and pipeline stages share: a span for
// the call (the group's life, the stage's run), a child span per task
// attempt run inside its own context, the outcome counts, and the metrics.
// The core asks for a Scope once per call; when neither traces nor metrics
// are recorded it gets none, so a program without an SDK pays one lookup
// per call and nothing per task.

import type {
  Attributes,
  Exception,
  Link,
  Context as OtelContext,
  Span,
  SpanContext,
  Tracer,
} from '@opentelemetry/api';
import { CancelledError } from '../../errors.ts';
import { isEcho } from '../../internal/abort.ts';
import { type OtelApi, otelApi } from '../api.ts';
import { instruments, tracer } from './providers.ts';
import { TaskMetrics } from './task-metrics.ts';

const SUCCEEDED = 0;
const FAILED = 1;
const CANCELLED = 2;
type Outcome = typeof SUCCEEDED | typeof FAILED | typeof CANCELLED;

/** A failed attempt that may be retried: its span, for the next one's link. */
interface Previous {
  context: SpanContext | undefined;
  outcome: Outcome;
}

let enabled = true;

/**
 * Switches fanout's tracing and metrics hooks on or off for the whole
 * process (on by default). For the benchmark that measures what the hooks
 * cost; not part of the public API.
 */
export function switchTracing(on: boolean): void {
  enabled = on;
}

/** Whether the hooks may record: switched on and the API is there. */
export function tracingOn(): boolean {
  return enabled && otelApi() !== undefined;
}

/** How a scope is opened: see {@link openScope}. */
export interface ScopeOptions {
  /** `fanOut`, `fanOutSettled`, `Group`, `pipeline.map`...: the `fanout.api` metric attribute. */
  api: string;
  /** The call span's name. */
  spanName: string;
  /** The task spans' name and the `fanout.task.name` metric attribute. */
  taskName: string;
  /** The caller's signal: its reason, when it aborts, is a cancellation, not an error. */
  parent: AbortSignal | undefined;
  /** Total tries per task; above 1 the scope links each retry to the attempt before. */
  attempts: number;
  /** The parent of the call span (default: the active context). */
  parentContext?: OtelContext;
  /** Whether each attempt gets a span of its own (default true). */
  taskSpans?: boolean;
}

/**
 * Opens a scope: starts the call span as a child of the active context, and
 * picks up the metric instruments. Returns undefined when tracing is
 * switched off, the API is missing, or neither a recording span nor a
 * MeterProvider is there.
 */
export function openScope(options: ScopeOptions): Scope | undefined {
  const api = enabled ? otelApi() : undefined;
  if (api === undefined) return undefined;
  const t = tracer();
  let span: Span | undefined;
  let active: OtelContext | undefined;
  if (t !== undefined) {
    active = options.parentContext ?? api.context.active();
    span = t.startSpan(options.spanName, { kind: api.SpanKind.INTERNAL }, active);
    // Not sampled: its tasks would not be either.
    if (!span.isRecording()) span = undefined;
  }
  const m = instruments();
  if (span === undefined && m === undefined) return undefined;
  active ??= options.parentContext ?? api.context.active();
  return new Scope(
    api,
    t,
    span,
    span === undefined ? active : api.trace.setSpan(active, span),
    m === undefined ? undefined : new TaskMetrics(m, options.api, options.taskName),
    options,
  );
}

/**
 * One traced call or group. Each `run` is one task attempt; `end` closes the
 * call span once the call has settled.
 */
export class Scope {
  /** Outcomes of the tasks so far; a retried attempt's failure is taken back. */
  succeeded = 0;
  failed = 0;
  cancelled = 0;
  private ended = false;
  private readonly taskName: string;
  private readonly parent: AbortSignal | undefined;
  private readonly attempts: number;
  private readonly previous: Map<number, Previous> | undefined;
  private readonly taskSpans: boolean;

  constructor(
    private readonly api: OtelApi,
    private readonly tracer: Tracer | undefined,
    /** The call span, when it records. */
    readonly span: Span | undefined,
    /** The context task spans are children of. */
    private readonly ctx: OtelContext,
    private readonly metrics: TaskMetrics | undefined,
    options: ScopeOptions,
  ) {
    this.taskName = options.taskName;
    this.parent = options.parent;
    this.attempts = options.attempts;
    this.taskSpans = span !== undefined && options.taskSpans !== false;
    this.previous = options.attempts > 1 ? new Map() : undefined;
  }

  /**
   * Runs one attempt of task `index`, `fn(a, b)`, inside a new child span
   * (or, when task spans are off, inside the call span's context), and
   * records how it ended. `waitMs` is the time the task waited for its
   * slot (first attempts only). Returns what `fn` returns; a promise when
   * `fn` returns one.
   */
  run<A, B, R>(
    fn: (a: A, b: B) => R,
    a: A,
    b: B,
    index: number,
    attempt: number,
    signal: AbortSignal,
    waitMs: number | undefined,
  ): R {
    let link: SpanContext | undefined;
    if (attempt > 1 && this.previous !== undefined) link = this.takePrevious(index);
    let span: Span | undefined;
    if (this.taskSpans) {
      const attributes: Attributes = { 'fanout.task.index': index, 'fanout.task.attempt': attempt };
      if (waitMs !== undefined) attributes['fanout.task.slot_wait_ms'] = waitMs;
      if (attempt > 1) attributes['fanout.task.retry'] = true;
      const links: Link[] | undefined =
        link === undefined
          ? undefined
          : [{ context: link, attributes: { 'fanout.link': 'previous_attempt' } }];
      span = this.tracer!.startSpan(
        this.taskName,
        { kind: this.api.SpanKind.INTERNAL, attributes, links },
        this.ctx,
      );
    }
    const metrics = this.metrics;
    const t0 = metrics === undefined ? 0 : performance.now();
    metrics?.started(attempt > 1, waitMs);
    // Without a span of its own (pipeline items by default) the task still
    // runs in the call span's context, so that its spans nest under that.
    const ctx =
      span !== undefined
        ? this.api.trace.setSpan(this.ctx, span)
        : this.span !== undefined
          ? this.ctx
          : undefined;
    let result: R;
    try {
      result = ctx === undefined ? fn(a, b) : this.api.context.with(ctx, fn, undefined, a, b);
    } catch (err) {
      this.settle(span, index, attempt, signal, t0, true, err);
      throw err;
    }
    if (typeof (result as { then?: unknown } | null)?.then !== 'function') {
      this.settle(span, index, attempt, signal, t0, false, undefined);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        this.settle(span, index, attempt, signal, t0, false, undefined);
        return value;
      },
      (err: unknown) => {
        this.settle(span, index, attempt, signal, t0, true, err);
        throw err;
      },
    ) as R;
  }

  /**
   * Ends the call span with the outcome counts: with a cancellation event
   * when `error` is the caller's cancellation, with the error otherwise.
   * Only the first call counts.
   */
  end(threw: boolean, error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.metrics?.flush();
    const span = this.span;
    if (span === undefined) return;
    span.setAttributes({
      'fanout.tasks.succeeded': this.succeeded,
      'fanout.tasks.failed': this.failed,
      'fanout.tasks.cancelled': this.cancelled,
    });
    if (threw) {
      if (this.isCancellation(error)) cancelled(span, error);
      else markFailed(span, error);
    }
    span.end();
  }

  /**
   * A task's attempt ended by cancellation when its signal aborted because
   * the call was cancelled: a sibling failed, the group was left, or the
   * caller's signal aborted. A timeout is the attempt's own failure.
   */
  private isCancellation(reason: unknown): boolean {
    return (
      reason instanceof CancelledError ||
      (this.parent?.aborted === true && reason === this.parent.reason)
    );
  }

  private settle(
    span: Span | undefined,
    index: number,
    attempt: number,
    signal: AbortSignal,
    t0: number,
    threw: boolean,
    error: unknown,
  ): void {
    let outcome: Outcome = SUCCEEDED;
    if (signal.aborted && !this.isCancellation(signal.reason)) {
      // Its timeout passed: the attempt fails with the TimeoutError, whatever
      // the task returned or threw, as the core decides.
      outcome = FAILED;
      error = signal.reason;
    } else if (threw) {
      outcome = signal.aborted && isEcho(error, signal.reason) ? CANCELLED : FAILED;
    }
    if (outcome === SUCCEEDED) this.succeeded++;
    else if (outcome === FAILED) this.failed++;
    else this.cancelled++;
    if (span !== undefined) {
      if (outcome !== SUCCEEDED && signal.aborted) cancelled(span, signal.reason);
      if (outcome === FAILED) markFailed(span, error);
      span.end();
    }
    this.metrics?.settled(attempt > 1, outcome, (performance.now() - t0) / 1000);
    // Only an attempt that failed with tries left can have a successor.
    if (this.previous !== undefined && outcome !== SUCCEEDED && attempt < this.attempts) {
      this.previous.set(index, { context: span?.spanContext(), outcome });
    }
  }

  /** A retry begins: the attempt before was not the task's last word. */
  private takePrevious(index: number): SpanContext | undefined {
    const p = this.previous!.get(index);
    if (p === undefined) return undefined;
    this.previous!.delete(index);
    if (p.outcome === FAILED) this.failed--;
    else if (p.outcome === CANCELLED) this.cancelled--;
    return p.context;
  }
}

/** Marks `span` as failed with `error`: exception event, error.type, ERROR status. */
export function markFailed(span: Span, error: unknown): void {
  span.recordException(asException(error));
  span.setAttribute('error.type', errorType(error));
  span.setStatus({ code: otelApi()!.SpanStatusCode.ERROR, message: messageOf(error) });
}

/** Adds the cancellation event, with its reason, to `span`. */
export function cancelled(span: Span, reason: unknown): void {
  span.addEvent('fanout.cancelled', { 'fanout.cancel.reason': describe(reason) });
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return String(value);
  } catch {
    return typeof value;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : describe(error);
}

/** The error's class, as the `error.type` convention asks; `_OTHER` for non-errors. */
function errorType(error: unknown): string {
  if (error instanceof Error) return error.name || error.constructor.name;
  return '_OTHER';
}

function asException(error: unknown): Exception {
  if (error instanceof Error) return error;
  if (typeof error === 'object' && error !== null) {
    const e = error as { message?: unknown; name?: unknown };
    if (typeof e.message === 'string' || typeof e.name === 'string') return error as Exception;
  }
  return describe(error);
}
