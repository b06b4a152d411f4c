import { TimeoutError } from './errors.ts';
import { listen, MAX_TIMER, noop } from './internal/abort.ts';
import { checkDuration, checkSignal } from './internal/validate.ts';

/**
 * Cancellable is a signal with its cancel function, as Go's
 * `context.WithCancel` returns them. Disposing it (`using`) cancels it, which
 * also releases its listener on the parent: the `defer cancel()` of Go.
 *
 * @example
 * ```ts
 * using scope: Cancellable = withCancel(parent)
 * ```
 */
export interface Cancellable extends Disposable {
  /** Aborts when `cancel` is called, the parent aborts, or (withTimeout) time runs out. */
  readonly signal: AbortSignal;
  /**
   * Aborts `signal` with `reason` (default: a DOMException named AbortError,
   * as `AbortController.abort()` gives) unless it has aborted already, and
   * removes the listener on the parent. Calling it again does nothing.
   */
  cancel(reason?: unknown): void;
}

/**
 * withCancel derives a signal from `parent` that you can also abort yourself.
 *
 * The signal aborts with the parent's reason when the parent aborts (at once
 * if it already has), or with the reason given to `cancel`. It adds one
 * listener to the parent and removes it on cancel, on dispose, or when the
 * parent aborts, so a long-lived parent does not collect listeners: call
 * `cancel` (or write `using`) once you are done with it.
 *
 * @throws TypeError when `parent` is given but is not an AbortSignal.
 * @example
 * ```ts
 * using scope = withCancel(request.signal)
 * const first = await Promise.any(mirrors.map((m) => download(m, { signal: scope.signal })))
 * scope.cancel() // stop the slower downloads
 * ```
 */
export function withCancel(parent?: AbortSignal): Cancellable {
  checkSignal('withCancel', 'parent', parent);
  return derive(parent, undefined);
}

/**
 * withTimeout derives a signal from `parent` (which may be undefined) that
 * also aborts with a {@link TimeoutError} once `ms` milliseconds have passed.
 *
 * Otherwise it behaves as {@link withCancel}; `cancel` and dispose also
 * clear the timer. The timer keeps the process alive until it fires or is
 * cleared, so dispose of the result when you are done with it.
 *
 * @throws TypeError or RangeError for a bad `parent` or a negative or NaN `ms`.
 * @example
 * ```ts
 * using deadline = withTimeout(undefined, 30_000)
 * await fanOut(files, upload, { signal: deadline.signal })
 * ```
 */
export function withTimeout(parent: AbortSignal | undefined, ms: number): Cancellable {
  checkSignal('withTimeout', 'parent', parent);
  checkDuration('withTimeout', 'ms', ms);
  return derive(parent, ms);
}

function derive(parent: AbortSignal | undefined, ms: number | undefined): Cancellable {
  const controller = new AbortController();
  const signal = controller.signal;
  let unlisten = noop;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const cancel = (reason?: unknown) => {
    unlisten();
    if (timer !== undefined) clearTimeout(timer);
    if (!signal.aborted) controller.abort(reason);
  };
  if (parent?.aborted) {
    controller.abort(parent.reason);
  } else {
    unlisten = listen(parent, () => cancel(parent!.reason));
    // Longer delays would fire at once; they never come.
    if (ms !== undefined && ms <= MAX_TIMER) {
      timer = setTimeout(() => cancel(new TimeoutError(ms)), ms);
    }
  }
  return { signal, cancel, [Symbol.dispose]: () => cancel() };
}
