// broadcast's shared state: one source, read once, its items kept in a
// bounded ring until every consumer has read them. Whichever consumer first
// needs an item that is not there yet reads it from the source; once the
// ring is full, the fastest waits for the slowest.

import { CancelledError } from '../../errors.ts';
import { isEcho, listen, noop } from '../../internal/abort.ts';
import { type Deferred, deferred } from '../../internal/deferred.ts';
import { attachSuppressed } from '../../internal/suppressed.ts';
import { DONE, type Done, Node, type Pulled, type Scope } from './node.ts';
import { type Source, SourceNode } from './source.ts';

export const FAILED: unique symbol = Symbol('fanout.failed');

export class Hub<T> implements Scope {
  private readonly source: SourceNode<T>;
  private readonly ring: (T | undefined)[];
  private readonly positions: number[];
  private readonly active: boolean[];
  private left: number;
  private base = 0;
  private tail = 0;
  private pulling = false;
  private ended = false;
  private started = false;
  failed = false;
  error: unknown;
  private changed: Deferred<void> | undefined;
  private unlisten: () => void = noop;
  private closing: Promise<unknown[]> | undefined;

  constructor(
    source: Source<T>,
    n: number,
    private readonly capacity: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.source = new SourceNode(this, source);
    this.ring = new Array(capacity);
    this.positions = new Array(n).fill(0);
    this.active = new Array(n).fill(true);
    this.left = n;
  }

  /** The next item for consumer `b`: FAILED once the source failed or the signal aborted. */
  read(b: number): Pulled<T> | typeof FAILED {
    for (;;) {
      if (this.failed) return FAILED;
      if (!this.active[b]) return DONE;
      const pos = this.positions[b]!;
      if (pos < this.tail) {
        const value = this.ring[pos % this.capacity] as T;
        this.positions[b] = pos + 1;
        if (pos === this.base) this.advance();
        return value;
      }
      if (this.ended) return DONE;
      if (!this.started) this.start();
      if (this.failed) return FAILED;
      if (!this.pulling && this.tail - this.base < this.capacity) {
        const item = this.source.pull();
        if (!(item instanceof Promise)) {
          this.store(item);
          continue;
        }
        this.pulling = true;
        item.then(this.onPulled);
      }
      this.changed ??= deferred();
      return this.changed.promise.then(() => this.read(b)) as Promise<T | Done>;
    }
  }

  private start(): void {
    this.started = true;
    const signal = this.signal;
    if (signal === undefined) return;
    if (signal.aborted) {
      this.fail(signal.reason);
      return;
    }
    this.unlisten = listen(signal, () => this.fail(signal.reason));
  }

  private readonly onPulled = (item: T | Done): void => {
    this.pulling = false;
    this.store(item);
    this.notify();
  };

  private store(item: T | Done): void {
    if (item === DONE) {
      this.ended = true;
      this.unlisten();
      return;
    }
    if (this.left === 0) return;
    this.ring[this.tail++ % this.capacity] = item;
  }

  /** Moves `base` to the slowest active consumer, freeing what all have read. */
  private advance(): void {
    let min = this.tail;
    for (let i = 0; i < this.positions.length; i++) {
      if (this.active[i] && this.positions[i]! < min) min = this.positions[i]!;
    }
    for (let i = this.base; i < min; i++) this.ring[i % this.capacity] = undefined;
    if (min !== this.base) {
      this.base = min;
      this.notify();
    }
  }

  private notify(): void {
    const changed = this.changed;
    this.changed = undefined;
    changed?.resolve();
  }

  /** The source failed (or the signal aborted): every consumer gets `error`. */
  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = error;
    this.unlisten();
    this.notify();
    // Every consumer still reading waits for this close (see detach), so by
    // the time one settles, what the close raised is in `error` too.
    this.closing = this.source
      .close(new CancelledError('cancelled: broadcast failed', { cause: error }))
      .then((errors) => {
        attachSuppressed(
          error,
          errors.filter((err) => !isEcho(err, error)),
        );
        return [];
      });
  }

  /**
   * Consumer `b` stopped; once none is left, the source is closed. Returns
   * what the consumer must wait for, if anything: after a failure, every
   * consumer waits for the source to close (what that raised is in `error`
   * already, so it resolves with no error); otherwise the last one does,
   * and what the close raised is its own to report.
   */
  detach(b: number): Promise<unknown[]> | undefined {
    if (!this.active[b]) return undefined;
    this.active[b] = false;
    this.left--;
    this.advance();
    this.notify();
    if (this.failed) return this.closing;
    if (this.left > 0) return undefined;
    this.unlisten();
    this.closing = this.source.close(
      new CancelledError('cancelled: every broadcast consumer stopped'),
    );
    return this.closing;
  }
}

/** One consumer's view of a hub: the source node of its pipeline. */
export class BranchNode<T> extends Node<T> {
  private running: Promise<unknown> | undefined;

  constructor(
    scope: Scope,
    private readonly hub: Hub<T>,
    private readonly b: number,
  ) {
    super(scope, undefined);
  }

  pull(): Pulled<T> {
    if (this.stopped) return DONE;
    const item = this.hub.read(this.b);
    if (item === FAILED) return this.failed();
    if (!(item instanceof Promise)) return item;
    const p = item.then((v) => (v === FAILED ? this.failed() : this.stopped ? DONE : v));
    this.running = p;
    return p;
  }

  private failed(): Done {
    this.fail(this.hub.error);
    return DONE;
  }

  // The hub's source is this node's upstream, shared: leaving it closes it
  // only for the last consumer, or after a failure.
  protected override closeUpstream(): Promise<unknown[]>[] {
    const detached = this.hub.detach(this.b);
    return detached === undefined ? [] : [detached];
  }

  protected override async idle(): Promise<void> {
    await this.running;
  }
}
