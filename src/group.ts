import { CancelledError } from './errors.ts';
import { isEcho, listen, noop, sharedController } from './internal/abort.ts';
import { type Deferred, deferred } from './internal/deferred.ts';
import { attachSuppressed, throwFirst } from './internal/suppressed.ts';
import { checkFunction, checkLimit, checkObject, checkSignal } from './internal/validate.ts';
import { type GroupTrace, traceGroup } from './tracing/group.ts';

/**
 * GroupOptions configure a {@link Group}: a parent signal and a limit.
 *
 * @example
 * ```ts
 * const g = new Group({ signal: request.signal, limit: 8 })
 * ```
 */
export interface GroupOptions {
  /** Aborting it aborts the group's signal, and `wait` then rejects with its reason. */
  signal?: AbortSignal;
  /** At most this many functions run at once: an integer >= 1 or Infinity (the default). */
  limit?: number;
}

interface Queued {
  fn: (signal: AbortSignal) => unknown;
  started: Deferred<void>;
}

const RESOLVED = Promise.resolve();

/**
 * Group runs functions that share one cancellation signal, as Go's
 * errgroup does, with SetLimit and TryGo.
 *
 * The first function to fail aborts `signal` (with a {@link CancelledError}
 * whose `cause` is that failure) and `wait` rejects with its error; errors
 * of the others are kept in its `suppressed` array. Once the group's signal
 * has aborted, functions passed to `go` or `tryGo` are skipped, never run.
 * A failed or cancelled group stays so; make a new one for new work.
 *
 * It holds one listener on `options.signal` while it has work or until
 * `wait` settles. Leave a scope with `await using` and the group aborts
 * whatever has not finished and waits for it.
 *
 * @throws TypeError or RangeError for bad options.
 * @example
 * ```ts
 * await using g = new Group({ limit: 4 })
 * for (const url of urls) await g.go((signal) => crawl(url, { signal }))
 * await g.wait()
 * ```
 */
export class Group {
  /** Aborts on the first failure, when the parent signal aborts, or on dispose before `wait`. */
  readonly signal: AbortSignal;
  readonly #controller = sharedController();
  readonly #parent: AbortSignal | undefined;
  readonly #limit: number;
  #unlisten = noop;
  #active = 0;
  #queue: Queued[] = [];
  #idle: Deferred<void> | undefined;
  #failed = false;
  #firstError: unknown;
  #laterErrors: unknown[] | undefined;
  #parentAborted = false;
  #waited = true;
  readonly #trace: GroupTrace | undefined;

  constructor(options?: GroupOptions) {
    checkObject('Group', 'options', options);
    checkSignal('Group', 'options.signal', options?.signal);
    checkLimit('Group', 'options.limit', options?.limit);
    this.signal = this.#controller.signal;
    this.#parent = options?.signal;
    this.#limit = options?.limit ?? Number.POSITIVE_INFINITY;
    this.#trace = traceGroup(this.#parent, options?.limit);
    if (this.#parent?.aborted) this.#onParentAbort();
  }

  /**
   * go runs `fn(signal)` once fewer than `limit` functions are running, and
   * resolves when it has started. At the limit it waits, first come first
   * served.
   *
   * If the group's signal has aborted (a failure, the parent, dispose), `fn`
   * is skipped and go resolves at once, also when it was waiting.
   *
   * @throws TypeError when `fn` is not a function.
   */
  go(fn: (signal: AbortSignal) => unknown): Promise<void> {
    checkFunction('Group.go', 'fn', fn);
    if (this.signal.aborted) return RESOLVED;
    this.#waited = false;
    if (this.#trace) fn = this.#trace.wrap(fn);
    if (this.#active < this.#limit) {
      this.#run(fn);
      return RESOLVED;
    }
    const started = deferred<void>();
    this.#queue.push({ fn, started });
    return started.promise;
  }

  /**
   * tryGo runs `fn(signal)` and returns true if a slot is free; otherwise it
   * returns false and runs nothing. It also returns false, skipping `fn`,
   * when the group's signal has aborted.
   *
   * @throws TypeError when `fn` is not a function.
   */
  tryGo(fn: (signal: AbortSignal) => unknown): boolean {
    checkFunction('Group.tryGo', 'fn', fn);
    if (this.signal.aborted || this.#active >= this.#limit || this.#queue.length > 0) return false;
    this.#waited = false;
    if (this.#trace) fn = this.#trace.wrap(fn);
    this.#run(fn);
    return true;
  }

  /**
   * wait resolves once every function started (or waiting to start) has
   * settled. It rejects with the first function's error, or with the
   * parent signal's reason if that aborted first.
   */
  async wait(): Promise<void> {
    await this.#settled();
    this.#waited = true;
    this.#trace?.end(this.#failed, this.#firstError, this.signal);
    if (this.#failed) {
      if (this.#laterErrors) attachSuppressed(this.#firstError, this.#laterErrors);
      this.#laterErrors = undefined;
      throw this.#firstError;
    }
    if (this.#parentAborted) throw this.#parent!.reason;
  }

  /**
   * Symbol.asyncDispose aborts the group if `wait` has not completed since
   * the last `go`, then waits for every function. It rejects only with a
   * function's own failure, never with the cancellation it caused itself
   * nor with the parent's reason.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#waited && !this.signal.aborted) {
      this.#controller.abort(new CancelledError('cancelled: the group was left before wait()'));
      this.#flushQueue();
    }
    await this.#settled();
    this.#waited = true;
    this.#trace?.end(this.#failed, this.#firstError, this.signal);
    const errors = this.#laterErrors;
    this.#laterErrors = undefined;
    if (this.#failed) {
      if (errors) attachSuppressed(this.#firstError, errors);
      throw this.#firstError;
    }
    if (errors) throwFirst(errors);
  }

  #settled(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) {
      this.#unlisten();
      this.#unlisten = noop;
      return RESOLVED;
    }
    this.#idle ??= deferred();
    return this.#idle.promise;
  }

  #run(fn: (signal: AbortSignal) => unknown): void {
    if (this.#active++ === 0 && this.#unlisten === noop && this.#parent) {
      this.#unlisten = listen(this.#parent, () => this.#onParentAbort());
    }
    let result: unknown;
    try {
      result = fn(this.signal);
    } catch (err) {
      this.#fail(err);
      this.#release();
      return;
    }
    Promise.resolve(result).then(
      () => this.#release(),
      (err) => {
        this.#fail(err);
        this.#release();
      },
    );
  }

  #release(): void {
    this.#active--;
    const next = this.#queue.shift();
    if (next) {
      this.#run(next.fn);
      next.started.resolve();
      return;
    }
    if (this.#active === 0) {
      this.#unlisten();
      this.#unlisten = noop;
      const idle = this.#idle;
      this.#idle = undefined;
      idle?.resolve();
    }
  }

  #fail(err: unknown): void {
    if (!this.signal.aborted) {
      this.#failed = true;
      this.#firstError = err;
      this.#controller.abort(
        new CancelledError('cancelled: a function in the group failed', { cause: err }),
      );
      this.#flushQueue();
    } else if (!isEcho(err, this.signal.reason)) {
      (this.#laterErrors ??= []).push(err);
    }
  }

  #onParentAbort(): void {
    if (this.signal.aborted) return;
    this.#parentAborted = true;
    this.#controller.abort(this.#parent!.reason);
    this.#flushQueue();
  }

  /** Functions still waiting for a slot are skipped once the group aborts. */
  #flushQueue(): void {
    const queue = this.#queue;
    this.#queue = [];
    for (const q of queue) q.started.resolve();
  }
}
