// Runs one task under a time limit and a retry policy. Only calls that ask
// for a timeout or a retry come here: they need an AbortController per
// attempt, which the plain path avoids.

import { TimeoutError } from '../errors.ts';
import type { AttemptOptions, BackoffOptions, TaskContext, TaskFn } from '../task.ts';
import { listen, MAX_TIMER, sleep } from './abort.ts';
import { checkDuration, checkLimit, checkObject, checkOptionalFunction } from './validate.ts';

/** The context object handed to tasks; a class so that V8 keeps one shape. */
export class Context implements TaskContext {
  constructor(
    readonly signal: AbortSignal,
    readonly index: number,
    readonly attempt: number,
  ) {}
}

export interface Policy {
  timeout: number | undefined;
  attempts: number;
  retryIf: ((error: unknown, attempt: number) => boolean) | undefined;
  delay: (attempt: number, error: unknown) => number;
}

/** Validates timeout and retry; returns undefined when neither applies. */
export function compilePolicy(api: string, options: AttemptOptions): Policy | undefined {
  const { timeout, retry } = options;
  checkDuration(api, 'options.timeout', timeout);
  checkObject(api, 'options.retry', retry);
  if (retry !== undefined) {
    if (retry.attempts === undefined) {
      throw new TypeError(`${api}: options.retry.attempts is required`);
    }
    checkLimit(api, 'options.retry.attempts', retry.attempts);
    checkOptionalFunction(api, 'options.retry.retryIf', retry.retryIf);
  }
  // Checked even when one attempt makes it moot: bad input is refused alike.
  const delay = compileBackoff(api, retry?.backoff);
  const limited = timeout !== undefined && timeout <= MAX_TIMER;
  const attempts = retry?.attempts ?? 1;
  if (!limited && attempts === 1) return undefined;
  return {
    timeout: limited ? timeout : undefined,
    attempts,
    retryIf: retry?.retryIf,
    delay,
  };
}

function compileBackoff(
  api: string,
  backoff: RetryOptions['backoff'],
): (attempt: number, error: unknown) => number {
  if (typeof backoff === 'function') return backoff;
  if (typeof backoff === 'number') {
    checkDuration(api, 'options.retry.backoff', backoff);
    return () => backoff;
  }
  checkObject(api, 'options.retry.backoff', backoff);
  const b: BackoffOptions = backoff ?? {};
  checkDuration(api, 'options.retry.backoff.initial', b.initial);
  checkDuration(api, 'options.retry.backoff.max', b.max);
  if (b.factor !== undefined && !(typeof b.factor === 'number' && b.factor >= 1)) {
    throw new RangeError(`${api}: options.retry.backoff.factor must be a number >= 1`);
  }
  const initial = b.initial ?? 100;
  const factor = b.factor ?? 2;
  const max = b.max ?? 30_000;
  const jitter = b.jitter ?? true;
  return (attempt) => {
    const ceiling = Math.min(max, initial * factor ** (attempt - 1));
    return jitter ? Math.random() * ceiling : ceiling;
  };
}

type RetryOptions = NonNullable<AttemptOptions['retry']>;

/**
 * Runs `fn` until it succeeds, the attempts run out, `retryIf` refuses, or
 * `shared` aborts; rejects with the last attempt's error.
 */
export async function runAttempts<T, R>(
  fn: TaskFn<T, R>,
  item: T,
  index: number,
  shared: AbortSignal,
  policy: Policy,
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    let error: unknown;
    try {
      return await runAttempt(fn, item, index, attempt, shared, policy.timeout);
    } catch (err) {
      error = err;
    }
    if (attempt >= policy.attempts || shared.aborted) throw error;
    if (policy.retryIf !== undefined && !policy.retryIf(error, attempt)) throw error;
    const ms = policy.delay(attempt, error);
    if (ms > 0) {
      try {
        await sleep(Math.min(ms, MAX_TIMER), shared);
      } catch {
        // Cancelled while waiting: the task ends with its own last error.
        throw error;
      }
    }
    if (shared.aborted) throw error;
  }
}

async function runAttempt<T, R>(
  fn: TaskFn<T, R>,
  item: T,
  index: number,
  attempt: number,
  shared: AbortSignal,
  timeout: number | undefined,
): Promise<R> {
  if (timeout === undefined) return await fn(item, new Context(shared, index, attempt));
  const controller = new AbortController();
  let timedOut: TimeoutError | undefined;
  if (shared.aborted) controller.abort(shared.reason);
  const unlisten = listen(shared, () => controller.abort(shared.reason));
  const timer = setTimeout(() => {
    timedOut = new TimeoutError(timeout);
    controller.abort(timedOut);
  }, timeout);
  try {
    const value = await fn(item, new Context(controller.signal, index, attempt));
    if (timedOut !== undefined) throw timedOut;
    return value;
  } catch (err) {
    // Once the limit passed, the attempt failed by timing out, whatever the
    // task did after it.
    throw timedOut ?? err;
  } finally {
    clearTimeout(timer);
    unlisten();
  }
}
