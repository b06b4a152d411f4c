// The hook fanOut and fanOutSettled call once per call: a span for the call
// with a child span per task attempt, and the task metrics. See
// docs/tracing.md for the names and attributes.

import type { Attributes } from '@opentelemetry/api';
import type { FanOutOptions } from '../fan-out.ts';
import { sizeOf } from '../internal/size.ts';
import type { TaskContext, TaskFn } from '../task.ts';
import { openScope, type Scope } from './internal/scope.ts';

/**
 * traceCall opens the trace of one fanOut or fanOutSettled call, or returns
 * undefined when nothing would be recorded (no API, no SDK, the call span not
 * sampled and no MeterProvider): then the call must run untouched.
 *
 * The call span is named after `api` (and `options.name` when given), is a
 * child of the span active now, and carries the call's options.
 */
export function traceCall(
  api: string,
  options: FanOutOptions,
  tasks: unknown,
): CallTrace | undefined {
  const name = options.name;
  const attempts = options.retry?.attempts ?? 1;
  const scope = openScope({
    api,
    spanName: name === undefined ? api : `${api} ${name}`,
    taskName: name ?? 'fanout.task',
    parent: options.signal,
    attempts,
  });
  if (scope === undefined) return undefined;
  if (scope.span !== undefined) {
    const attributes: Attributes = {
      'fanout.ordered': options.ordered ?? true,
      'fanout.fail_fast': api === 'fanOut' && (options.failFast ?? true),
    };
    // Infinity has no place in OTLP's JSON: unbounded is left out.
    const limit = options.concurrency;
    if (limit !== undefined && Number.isFinite(limit)) attributes['fanout.concurrency'] = limit;
    const total = sizeOf(tasks);
    if (total !== undefined) attributes['fanout.total'] = total;
    if (options.timeout !== undefined) attributes['fanout.timeout_ms'] = options.timeout;
    if (attempts > 1 && Number.isFinite(attempts)) attributes['fanout.retry.attempts'] = attempts;
    scope.span.setAttributes(attributes);
  }
  return new CallTrace(scope);
}

/** The trace of one call: wraps its task function, and ends with its promise. */
export class CallTrace {
  private readonly startedAt = performance.now();

  constructor(private readonly scope: Scope) {}

  /**
   * Wraps `fn` so that each attempt runs in its own span. The slot wait of a
   * task is the time from the call's start to its first attempt: the time it
   * queued behind the concurrency limit (or, for async input, behind the
   * source).
   */
  wrap<T, R>(fn: TaskFn<T, R>): TaskFn<T, R> {
    const scope = this.scope;
    const startedAt = this.startedAt;
    return (item: T, ctx: TaskContext) =>
      scope.run(
        fn,
        item,
        ctx,
        ctx.index,
        ctx.attempt,
        ctx.signal,
        ctx.attempt === 1 ? performance.now() - startedAt : undefined,
      );
  }

  /** Returns `promise`, ending the call span when it settles. */
  end<V>(promise: Promise<V>): Promise<V> {
    return promise.then(
      (value) => {
        this.scope.end(false, undefined);
        return value;
      },
      (err: unknown) => {
        this.scope.end(true, err);
        throw err;
      },
    );
  }
}
