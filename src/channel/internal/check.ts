// Argument checks for channels and select that the shared validate.ts does
// not cover; they name the API, the argument and the value, as it does.

import { show } from '../../internal/show.ts';

export function checkCapacity(api: string, value: unknown): void {
  if (typeof value !== 'number') {
    throw new TypeError(`${api}: capacity must be a number, got ${show(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${api}: capacity must be an integer of 0 or more, got ${show(value)}`);
  }
}

// These run for every case of every select: named property loads stay
// monomorphic, where a loop over method names would not.
export function isReceivable(value: unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.tryRecv === 'function' &&
    typeof v.addReceiver === 'function' &&
    typeof v.removeReceiver === 'function'
  );
}

export function isSendable(value: unknown): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.trySend === 'function' &&
    typeof v.addSender === 'function' &&
    typeof v.removeSender === 'function'
  );
}

export function notChannelLike(api: string, arg: string, value: unknown, what: string): TypeError {
  return new TypeError(`${api}: ${arg} must be a Channel or another ${what}, got ${show(value)}`);
}

export function checkReceivable(api: string, arg: string, value: unknown): void {
  if (!isReceivable(value)) throw notChannelLike(api, arg, value, 'Receivable');
}

export function checkSendable(api: string, arg: string, value: unknown): void {
  if (!isSendable(value)) throw notChannelLike(api, arg, value, 'Sendable');
}
