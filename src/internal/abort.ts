// Abort-listener handling, written once: every API that takes a signal goes
// through listen(), so each call adds at most one listener and removes it on
// every exit path.

import { setMaxListeners } from 'node:events';
import { CancelledError } from '../errors.ts';

/**
 * Calls `onAbort` once when `signal` aborts and returns a function that
 * removes the listener. No signal, no listener: the remover is a no-op.
 * The caller must check `signal.aborted` first; this only listens.
 */
export function listen(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (signal === undefined) return noop;
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

export function noop(): void {}

/**
 * An AbortController whose signal is shared by every task of a call: each
 * running task may listen to it (a fetch, a timer, an attempt's own
 * controller), so Node's leak warning at 11 listeners would fire for any
 * concurrency above 10. The listeners go with their tasks, and the signal
 * with its call, so there is no leak to warn about.
 */
export function sharedController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

/**
 * Returns a new CancelledError for a task whose caller cancelled it, when
 * the caller's own reason is not at hand: a worker thread that sees the
 * abort flag before the message carrying the reason, or a BullMQ worker
 * (callers send no reason). The caller itself still rejects with its
 * signal's reason.
 */
export function cancelledByCaller(): CancelledError {
  return new CancelledError('cancelled by the caller');
}

/**
 * Whether `err` only echoes the cancellation we caused with `reason`, rather
 * than being a failure of the task's own: the reason itself (what
 * `signal.throwIfAborted()` throws) or an AbortError that carries it as its
 * cause (what Node's timers and events APIs throw).
 */
export function isEcho(err: unknown, reason: unknown): boolean {
  if (err === reason) return true;
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'AbortError' &&
    (err as { cause?: unknown }).cause === reason
  );
}

/**
 * The longest delay setTimeout keeps, 2^31 - 1 ms (about 24.8 days): a longer
 * one fires at once. Callers treat a longer delay as none, clamp to it, or
 * wait in steps (see after).
 */
export const MAX_TIMER = 2 ** 31 - 1;

/**
 * Calls `fn` once `ms` have passed, however long that is (a delay above
 * MAX_TIMER is waited in steps); returns a function that cancels it.
 */
export function after(ms: number, fn: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const arm = (left: number) => {
    timer =
      left > MAX_TIMER ? setTimeout(() => arm(left - MAX_TIMER), MAX_TIMER) : setTimeout(fn, left);
  };
  arm(ms);
  return () => clearTimeout(timer);
}

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as `signal`
 * aborts; leaves no timer and no listener behind either way.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const unlisten = listen(signal, () => {
      cancel();
      reject(signal.reason);
    });
    const cancel = after(ms, () => {
      unlisten();
      resolve();
    });
  });
}
