// Argument checks shared by every public API. Each names the API, the
// argument and the value it got, so a bad call explains itself.

import { show } from './show.ts';

export function checkFunction(api: string, arg: string, value: unknown): void {
  if (typeof value !== 'function') {
    throw new TypeError(`${api}: ${arg} must be a function, got ${show(value)}`);
  }
}

export function checkOptionalFunction(api: string, arg: string, value: unknown): void {
  if (value !== undefined) checkFunction(api, arg, value);
}

/** A positive integer or Infinity; `undefined` passes. */
export function checkLimit(api: string, arg: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(`${api}: ${arg} must be a number, got ${show(value)}`);
  }
  if (!(value === Number.POSITIVE_INFINITY || (Number.isInteger(value) && value >= 1))) {
    throw new RangeError(
      `${api}: ${arg} must be an integer from 1 to Infinity, got ${show(value)}`,
    );
  }
}

/** A duration in ms: a number >= 0 (Infinity allowed); `undefined` passes. */
export function checkDuration(api: string, arg: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== 'number') {
    throw new TypeError(`${api}: ${arg} must be a number of milliseconds, got ${show(value)}`);
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(`${api}: ${arg} must be 0 or more milliseconds, got ${show(value)}`);
  }
}

export function checkSignal(api: string, arg: string, value: unknown): void {
  if (value !== undefined && !(value instanceof AbortSignal)) {
    throw new TypeError(`${api}: ${arg} must be an AbortSignal, got ${show(value)}`);
  }
}

export function checkIterable(api: string, arg: string, value: unknown): void {
  const v = value as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown } | null;
  if (
    v === null ||
    v === undefined ||
    (typeof v[Symbol.iterator] !== 'function' && typeof v[Symbol.asyncIterator] !== 'function')
  ) {
    throw new TypeError(`${api}: ${arg} must be an Iterable or AsyncIterable, got ${show(value)}`);
  }
}

export function checkBoolean(api: string, arg: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new TypeError(`${api}: ${arg} must be a boolean, got ${show(value)}`);
  }
}

export function checkString(api: string, arg: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') {
    throw new TypeError(`${api}: ${arg} must be a string, got ${show(value)}`);
  }
}

export function checkObject(api: string, arg: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new TypeError(`${api}: ${arg} must be an object, got ${show(value)}`);
  }
}
