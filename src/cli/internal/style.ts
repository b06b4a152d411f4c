// Colour for people at a terminal only: never on a pipe, never with NO_COLOR
// set (https://no-color.org), never when the terminal cannot show it.

import type { WriteStream } from 'node:tty';

/** Whether `stream` is a terminal we may colour. */
export function colours(stream: NodeJS.WritableStream): boolean {
  const tty = stream as Partial<WriteStream>;
  if (!tty.isTTY) return false;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  return typeof tty.hasColors === 'function' ? tty.hasColors() : false;
}

/** Wraps `text` in an SGR colour code when `on`. */
export function paint(on: boolean, code: number, text: string): string {
  return on ? `\x1b[${code}m${text}\x1b[39m` : text;
}

export const RED = 31;
export const GREEN = 32;
export const YELLOW = 33;
