import { listen } from './internal/abort.ts';
import { type Deferred, deferred } from './internal/deferred.ts';
import { checkFunction, checkObject, checkSignal } from './internal/validate.ts';

/**
 * WaitGroup waits for a collection of tasks to finish, as Go's
 * `sync.WaitGroup` does: `add` counts tasks up, `done` counts one down, and
 * `wait` resolves once the count is zero.
 *
 * It cancels nothing and does not limit concurrency; for that, use
 * {@link Group}. Unlike Go's, a function started with `go` that throws is
 * not lost: the next `wait` rejects with the first such error (and the
 * error is then cleared, so the WaitGroup can be reused).
 *
 * @example
 * ```ts
 * const wg = new WaitGroup()
 * for (const ch of inputs) wg.go(() => forward(ch, out))
 * await wg.wait()
 * out.close()
 * ```
 */
export class WaitGroup {
  #count = 0;
  #waiters: Deferred<void>[] = [];
  #failed = false;
  #error: unknown;

  /**
   * add changes the count by `n` (default 1), which may be negative; when it
   * reaches zero every waiter is released.
   *
   * @throws RangeError when `n` is not an integer or the count would go negative.
   */
  add(n = 1): void {
    if (!Number.isInteger(n)) {
      throw new RangeError(`WaitGroup.add: n must be an integer, got ${String(n)}`);
    }
    if (this.#count + n < 0) {
      throw new RangeError(`WaitGroup.add: the counter would go negative (${this.#count + n})`);
    }
    this.#count += n;
    if (this.#count === 0 && this.#waiters.length > 0) this.#release();
  }

  /** done counts one task down; the same as `add(-1)`. */
  done(): void {
    this.add(-1);
  }

  /** The current count. */
  get count(): number {
    return this.#count;
  }

  /**
   * wait resolves once the count is zero (at once if it is), or rejects
   * with the first error of a function started with `go`.
   *
   * When `options.signal` aborts it rejects with `signal.reason` without
   * changing the count; an already-aborted signal rejects at once. It adds
   * at most one listener to the signal and removes it when it settles.
   */
  wait(options?: { signal?: AbortSignal }): Promise<void> {
    try {
      checkObject('WaitGroup.wait', 'options', options);
      checkSignal('WaitGroup.wait', 'options.signal', options?.signal);
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#count === 0) {
      return this.#failed ? Promise.reject(this.#take()) : Promise.resolve();
    }
    const waiter = deferred<void>();
    this.#waiters.push(waiter);
    if (signal === undefined) return waiter.promise;
    const unlisten = listen(signal, () => {
      const i = this.#waiters.indexOf(waiter);
      if (i >= 0) this.#waiters.splice(i, 1);
      waiter.reject(signal.reason);
    });
    return waiter.promise.finally(unlisten);
  }

  /**
   * go adds one to the count, starts `fn` at once, and counts it done when
   * it settles. If it throws, the next `wait` rejects with that error.
   *
   * @throws TypeError when `fn` is not a function.
   */
  go(fn: () => unknown): void {
    checkFunction('WaitGroup.go', 'fn', fn);
    this.add(1);
    let result: unknown;
    try {
      result = fn();
    } catch (err) {
      this.#fail(err);
      return;
    }
    Promise.resolve(result).then(
      () => this.done(),
      (err) => this.#fail(err),
    );
  }

  #fail(err: unknown): void {
    if (!this.#failed) {
      this.#failed = true;
      this.#error = err;
    }
    this.done();
  }

  #take(): unknown {
    const err = this.#error;
    this.#failed = false;
    this.#error = undefined;
    return err;
  }

  #release(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    if (this.#failed) {
      const err = this.#take();
      for (const w of waiters) w.reject(err);
    } else {
      for (const w of waiters) w.resolve();
    }
  }
}
