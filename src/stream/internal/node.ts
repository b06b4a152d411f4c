// The protocol every running stage follows. A pipeline run is a chain of
// nodes; each pulls from the one before it. A pull may answer synchronously,
// so synchronous stages fused one after another cost a function call per
// item, not a promise.
//
// Nodes never throw from pull(): a failure goes to the run (Scope.fail),
// which stops every node at once, and the pull answers DONE. Only the run
// decides what the consumer sees, so an error reaches it exactly once and
// as the very object that was thrown.

import { isEcho, sharedController } from '../../internal/abort.ts';

/** The end of a stream, or of a stopped node. */
export const DONE: unique symbol = Symbol('fanout.done');
export type Done = typeof DONE;

/** What a pull answers: an item, the end, or a promise of either (never rejected). */
export type Pulled<T> = T | Done | Promise<T | Done>;

/** Where a node reports a failure that ends its run. */
export interface Scope {
  fail(error: unknown): void;
}

/** Whether `value` must be awaited; native promises are checked first as the common case. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value instanceof Promise ||
    (value !== null &&
      (typeof value === 'object' || typeof value === 'function') &&
      typeof (value as { then?: unknown }).then === 'function')
  );
}

export abstract class Node<T> {
  stopped = false;
  protected readonly controller = sharedController();
  /** What this node's tasks and Go-style stages see. */
  readonly signal: AbortSignal = this.controller.signal;
  private closing: Promise<unknown[]> | undefined;
  private late: unknown[] | undefined;

  constructor(
    protected readonly scope: Scope,
    protected readonly upstream: Node<unknown> | undefined,
  ) {}

  /** The next item; at most one pull is outstanding at a time. */
  abstract pull(): Pulled<T>;

  /**
   * Stops this node and every node upstream at once (aborting their tasks'
   * signals with `reason`), and resolves when none of them runs anything
   * and the source is closed, with every error raised while winding down
   * that is not an echo of `reason`: this node's, then its upstreams' (an
   * empty array: none). It never rejects, so a close under way never holds
   * an unhandled rejection, and several errors need no nesting.
   */
  close(reason: unknown): Promise<unknown[]> {
    if (this.closing === undefined) {
      this.stopped = true;
      this.controller.abort(reason);
      this.onStop();
      this.closing = this.wind(this.closeUpstream(reason));
    }
    return this.closing;
  }

  /** Wakes whatever waits on this node: stopped nodes answer DONE. */
  protected onStop(): void {}

  /** Resolves once nothing of this node runs; called after onStop. */
  protected idle(): Promise<void> | undefined {
    return undefined;
  }

  /** Closes what this node reads from: one close() per upstream, started at once. */
  protected closeUpstream(reason: unknown): Promise<unknown[]>[] {
    return this.upstream === undefined ? [] : [this.upstream.close(reason)];
  }

  /** Reports a failure: it ends the run, unless the node stopped already. */
  protected fail(error: unknown): void {
    if (this.stopped) this.lateError(error);
    else this.scope.fail(error);
  }

  /** Keeps an error raised after stopping, unless it only echoes the stop. */
  protected lateError(error: unknown): void {
    if (!isEcho(error, this.signal.reason)) (this.late ??= []).push(error);
  }

  private async wind(upstreams: Promise<unknown[]>[]): Promise<unknown[]> {
    try {
      await this.idle();
    } catch (err) {
      this.lateError(err);
    }
    const errors = this.late ?? [];
    for (const upstream of upstreams) errors.push(...(await upstream));
    return errors;
  }
}
