// The protocol every running stage follows. A pipeline run is a chain of
// nodes; each pulls from the one before it. A pull may answer synchronously,
// so synchronous stages fused one after another cost a function call per
// item, not a promise.
//
// Nodes never throw from pull(): a failure goes to the run (Scope.fail),
// which stops every node at once, and the pull answers DONE. Only the run
// decides what the consumer sees, so an error reaches it exactly once and
// as the very object that was thrown.

import { isEcho, noop, sharedController } from '../../internal/abort.ts';
import { attachSuppressed } from '../../internal/suppressed.ts';

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
  private closing: Promise<void> | undefined;
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
   * and the source is closed. Rejects with the first error raised while
   * winding down that is not an echo of `reason`.
   */
  close(reason: unknown): Promise<void> {
    if (this.closing === undefined) {
      this.stopped = true;
      this.controller.abort(reason);
      this.onStop();
      const upstream = this.closeUpstream(reason);
      // Marked handled at once: an upstream may fail while this node still
      // winds down, and a rejection left unhandled that long ends the process.
      upstream?.catch(noop);
      this.closing = this.wind(upstream);
    }
    return this.closing;
  }

  /** Wakes whatever waits on this node: stopped nodes answer DONE. */
  protected onStop(): void {}

  /** Resolves once nothing of this node runs; called after onStop. */
  protected idle(): Promise<void> | undefined {
    return undefined;
  }

  protected closeUpstream(reason: unknown): Promise<void> | undefined {
    return this.upstream?.close(reason);
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

  private async wind(upstream: Promise<void> | undefined): Promise<void> {
    try {
      await this.idle();
    } catch (err) {
      this.lateError(err);
    }
    const errors = this.late ?? [];
    if (upstream !== undefined) {
      try {
        await upstream;
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) {
      attachSuppressed(errors[0], errors.slice(1));
      throw errors[0];
    }
  }
}

/** Awaits `p`, whose rejection was already recorded elsewhere. */
export function settled(p: PromiseLike<unknown> | undefined): Promise<void> {
  return Promise.resolve(p).then(
    () => {},
    () => {},
  );
}
