// Ordered output that streams: a result is emitted as soon as every earlier
// one has been, and results that arrive early wait in a ring of `window`
// slots. The input is held back (see `room`) so that no index ever runs more
// than `window` ahead of the next one to emit: memory is bounded by the
// window, not by the input.

import { listen } from '../../internal/abort.ts';
import { type Deferred, deferred } from '../../internal/deferred.ts';
import type { Output } from './output.ts';

const EMPTY = Symbol('empty');

export class Reorder<T> {
  /** The index of the next value to emit. */
  next = 0;
  private readonly slots: (T | typeof EMPTY)[];
  private waiting: Deferred<void> | undefined;
  private waitingFor = 0;

  constructor(
    readonly window: number,
    private readonly emit: (value: T, index: number) => void,
  ) {
    this.slots = new Array(window).fill(EMPTY);
  }

  /** Takes the value of `index`, which must be less than `next + window`. */
  put(index: number, value: T): void {
    if (index !== this.next) {
      this.slots[index % this.window] = value;
      return;
    }
    this.emit(value, index);
    let next = index + 1;
    for (;;) {
      const slot = next % this.window;
      const v = this.slots[slot]!;
      if (v === EMPTY) break;
      this.slots[slot] = EMPTY;
      this.emit(v, next);
      next++;
    }
    this.next = next;
    if (this.waitingFor < next + this.window) this.wake();
  }

  /**
   * Undefined when `index` may start now, else a promise of when it may, or
   * of `signal` aborting: a run that stops never puts the values it waits for.
   */
  room(index: number, signal: AbortSignal): Promise<void> | undefined {
    if (index < this.next + this.window || signal.aborted) return undefined;
    this.waitingFor = index;
    if (this.waiting === undefined) {
      const waiting = (this.waiting = deferred());
      const unlisten = listen(signal, () => this.wake());
      void waiting.promise.then(unlisten);
    }
    return this.waiting.promise;
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve();
  }

  /** Emits every value still held, in index order, skipping the gaps. */
  flushAll(): void {
    const end = this.next + this.window;
    for (let i = this.next; i < end; i++) {
      const slot = i % this.window;
      const v = this.slots[slot]!;
      if (v === EMPTY) continue;
      this.slots[slot] = EMPTY;
      this.emit(v, i);
    }
  }
}

/**
 * What a task of `run` or `exec` waits for before it starts: room for
 * `index` in `reorder`'s window (when output is ordered), then `out` taking
 * more. Undefined when it may start at once; a promise that rejects with
 * the reason of `signal` when the run has stopped, before or while it waits.
 */
export function startWhen<T>(
  reorder: Reorder<T> | undefined,
  out: Output,
  index: number,
  signal: AbortSignal,
): Promise<void> | undefined {
  const room = reorder?.room(index, signal);
  if (room === undefined) return signal.aborted ? Promise.reject(signal.reason) : out.ready();
  return room.then(() => {
    signal.throwIfAborted(); // stopped while it waited
    return out.ready();
  });
}
