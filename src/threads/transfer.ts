// A marker that moves buffers to the other thread instead of copying them.
// Its brand is a registered symbol, so a task module that loads its own copy
// of fanout/threads (or the compiled one next to a tsx one) still matches.

import type { TransferListItem } from 'node:worker_threads';

const BRAND: unique symbol = Symbol.for('fanout.threads.transfer');

/**
 * Transfer is a value to send along with the objects in it to move rather
 * than copy; made by {@link transfer}, unwrapped by the receiving side.
 *
 * @example
 * ```ts
 * export function encode(frame: Uint8Array): Transfer<Uint8Array> {
 *   const out = compress(frame)
 *   return transfer(out, [out.buffer])
 * }
 * ```
 */
export interface Transfer<T> {
  readonly [BRAND]: true;
  readonly value: T;
  readonly list: readonly TransferListItem[];
}

/**
 * transfer marks `value` so that the objects in `list` (ArrayBuffers,
 * MessagePorts, ...) found inside it are moved to the other thread instead
 * of copied. Use it for a task's input (`pool.task('x')(transfer(v, [buf]))`)
 * and for a task's result inside a task module (`return transfer(v, [buf])`).
 *
 * After a move the sender's buffer is detached: its `byteLength` is 0. The
 * receiver gets `value` itself, never the marker. Listing an object that is
 * not transferable fails that task with a SerializationError.
 *
 * @throws TypeError when `list` is not an array.
 * @example
 * ```ts
 * const bytes = new Uint8Array(1 << 20)
 * const digest = await pool.task('sha256')(transfer(bytes, [bytes.buffer]))
 * // in the task module:
 * export function invert(bytes) { ...; return transfer(bytes, [bytes.buffer]) }
 * ```
 */
export function transfer<T>(value: T, list: readonly TransferListItem[]): Transfer<T> {
  if (!Array.isArray(list)) {
    throw new TypeError(
      `transfer: list must be an array of transferable objects, got ${list === null ? 'null' : typeof list}`,
    );
  }
  return { [BRAND]: true, value, list };
}

/** Whether `v` was made by {@link transfer}. */
export function isTransfer(v: unknown): v is Transfer<unknown> {
  return typeof v === 'object' && v !== null && (v as { [BRAND]?: unknown })[BRAND] === true;
}
