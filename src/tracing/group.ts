// The hook a Group calls: a span for the group's life, from construction to
// the first wait() or dispose that settles, with a child span per function
// passed to go or tryGo, and the task metrics.

import { openScope, type Scope } from './internal/scope.ts';

/**
 * traceGroup opens the trace of a new Group, a child of the span active
 * now, or returns undefined when nothing would be recorded.
 */
export function traceGroup(
  parent: AbortSignal | undefined,
  limit: number | undefined,
): GroupTrace | undefined {
  const scope = openScope({
    api: 'Group',
    spanName: 'Group',
    taskName: 'fanout.task',
    parent,
    attempts: 1,
  });
  if (scope === undefined) return undefined;
  if (limit !== undefined && Number.isFinite(limit)) {
    scope.span?.setAttribute('fanout.concurrency', limit);
  }
  return new GroupTrace(scope);
}

/** The trace of one Group. */
export class GroupTrace {
  private goes = 0;

  constructor(private readonly scope: Scope) {}

  /**
   * Wraps a function passed to go or tryGo, at the time it is passed: its
   * index counts the functions passed so far, and its slot wait runs from
   * now until it starts.
   */
  wrap(fn: (signal: AbortSignal) => unknown): (signal: AbortSignal) => unknown {
    const scope = this.scope;
    const index = this.goes++;
    const queuedAt = performance.now();
    return (signal: AbortSignal) =>
      scope.run(fn, signal, undefined, index, 1, signal, performance.now() - queuedAt);
  }

  /**
   * Ends the group's span once wait() or dispose has settled: with the
   * first error if a function failed, with a cancellation event if the
   * group's signal aborted otherwise. Later calls do nothing.
   */
  end(failed: boolean, error: unknown, signal: AbortSignal): void {
    if (failed) this.scope.end(true, error);
    else if (signal.aborted) this.scope.end(true, signal.reason);
    else this.scope.end(false, undefined);
  }
}
