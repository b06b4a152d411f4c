// Argument checks shared by bullmqExecutor and serveTasks, in the style of
// ../../internal/validate.ts: each names the API, the argument and the value.

import { checkDuration, checkLimit, checkObject } from '../../internal/validate.ts';

export function checkQueue(api: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '' || value.includes(':')) {
    throw new TypeError(
      `${api}: options.queue must be a non-empty string without ':', got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
}

export function checkPrefix(api: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value === '')) {
    throw new TypeError(
      `${api}: options.prefix must be a non-empty string, got ${JSON.stringify(value) ?? String(value)}`,
    );
  }
}

export function checkConnection(api: string, value: unknown): void {
  if (value === undefined || value === null || typeof value !== 'object') {
    throw new TypeError(
      `${api}: options.connection must be ioredis options (an object; see connectionFromUrl), got ${value === null ? 'null' : typeof value}`,
    );
  }
}

/** A whole number >= min; `undefined` passes. */
export function checkInteger(api: string, arg: string, value: unknown, min: number): void {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(`${api}: ${arg} must be a number, got ${typeof value}`);
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${api}: ${arg} must be an integer >= ${min}, got ${value}`);
  }
}

/** BullMQ's backoff: a fixed delay in ms, or `{ type: 'fixed' | 'exponential', delay, jitter? }`. */
export type Backoff = number | { type: 'fixed' | 'exponential'; delay: number; jitter?: number };

export function checkRetry(api: string, prefix: string, attempts: unknown, backoff: unknown): void {
  checkInteger(api, `${prefix}attempts`, attempts, 1);
  if (typeof backoff === 'number') {
    checkDuration(api, `${prefix}backoff`, backoff);
    return;
  }
  checkObject(api, `${prefix}backoff`, backoff);
  if (backoff === undefined) return;
  const b = backoff as { type?: unknown; delay?: unknown; jitter?: unknown };
  if (b.type !== 'fixed' && b.type !== 'exponential') {
    throw new TypeError(
      `${api}: ${prefix}backoff.type must be 'fixed' or 'exponential', got ${JSON.stringify(b.type) ?? String(b.type)}`,
    );
  }
  checkDuration(api, `${prefix}backoff.delay`, b.delay);
  if (b.jitter !== undefined && !(typeof b.jitter === 'number' && b.jitter >= 0 && b.jitter <= 1)) {
    throw new RangeError(`${api}: ${prefix}backoff.jitter must be a number from 0 to 1`);
  }
}

export { checkLimit };
