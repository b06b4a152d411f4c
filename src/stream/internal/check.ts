// Argument checks of the stream stages, on top of the shared ones.

import { show } from '../../internal/show.ts';

/** A finite integer >= 1 (a count that sizes a buffer or a batch). */
export function checkCount(api: string, arg: string, value: unknown): void {
  if (typeof value !== 'number') {
    throw new TypeError(`${api}: ${arg} must be a number, got ${show(value)}`);
  }
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new RangeError(`${api}: ${arg} must be an integer of 1 or more, got ${show(value)}`);
  }
}

/** A finite number of milliseconds > 0. */
export function checkPeriod(api: string, arg: string, value: unknown): void {
  if (typeof value !== 'number') {
    throw new TypeError(`${api}: ${arg} must be a number of milliseconds, got ${show(value)}`);
  }
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `${api}: ${arg} must be a finite number of milliseconds above 0, got ${show(value)}`,
    );
  }
}
