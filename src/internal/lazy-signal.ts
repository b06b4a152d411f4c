// A task's abort signal, made only when the task reads it: an AbortSignal
// costs microseconds, and many tasks never look.

/**
 * LazySignal holds what aborts one running task. `abort(reason)` may come
 * before or after the task reads `signal`: the first call wins, and a
 * signal made after it is already aborted with that reason. Subclasses
 * may adjust the signal when it is made, in {@link LazySignal.made}.
 */
export class LazySignal {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  /** The task's signal, made on the first read. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      this.made(this.#controller.signal);
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Whether {@link LazySignal.abort} was called, whether or not the signal was made. */
  get aborted(): boolean {
    return this.#aborted;
  }

  /** The reason of the first {@link LazySignal.abort}. */
  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts the task's signal with `reason` (the first call wins). */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** Called once with the signal just made, before it is aborted. */
  protected made(_signal: AbortSignal): void {}
}
