// The TaskContext a task receives inside a worker thread. Its signal is made
// only when the task reads it, so tiny tasks pay nothing for it; once made,
// `aborted`, `reason` and `throwIfAborted()` consult the task slot's flag in
// shared memory first. That is how a CPU-bound loop that never yields to
// the event loop (and so never receives the abort message) still sees the
// caller's cancellation at its next `ctx.signal.aborted`.

import { cancelledByCaller, isEcho } from '../../internal/abort.ts';
import { LazySignal } from '../../internal/lazy-signal.ts';
import type { TaskContext } from '../../task.ts';
import { ABORTED } from './protocol.ts';

const proto = AbortSignal.prototype;
const abortedOf = Object.getOwnPropertyDescriptor(proto, 'aborted')!.get!;
const reasonOf = Object.getOwnPropertyDescriptor(proto, 'reason')!.get!;

export class RemoteContext extends LazySignal implements TaskContext {
  /** False once the task settled: its slot may then hold another task's flag. */
  live = true;

  constructor(
    private readonly flags: Int32Array,
    readonly slot: number,
    readonly index: number,
    readonly attempt: number,
  ) {
    super();
  }

  protected override made(signal: AbortSignal): void {
    shadow(signal, this);
  }

  /** Aborts the signal if the pool raised the flag and no message told us yet. */
  poll(): void {
    if (this.live && !this.aborted && (Atomics.load(this.flags, this.slot) & ABORTED) !== 0) {
      this.abort(cancelledByCaller());
    }
  }

  /** Whether `err` only echoes this task's own abort reason. */
  echoes(err: unknown): boolean {
    return this.aborted && isEcho(err, this.reason);
  }
}

function shadow(signal: AbortSignal, ctx: RemoteContext): void {
  Object.defineProperties(signal, {
    aborted: {
      configurable: true,
      get() {
        ctx.poll();
        return abortedOf.call(this);
      },
    },
    reason: {
      configurable: true,
      get() {
        ctx.poll();
        return reasonOf.call(this);
      },
    },
    throwIfAborted: {
      configurable: true,
      writable: true,
      value() {
        ctx.poll();
        if (abortedOf.call(this)) throw reasonOf.call(this);
      },
    },
  });
}
