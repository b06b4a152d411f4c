// What the command tells people when something is wrong, and the exit
// codes it uses (those of GNU parallel).

import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';

/** Exit code when the run could not start or broke down, as GNU parallel. */
export const EXIT_ERROR = 255;

/**
 * A problem the user can fix: what was wrong, and what to do (`hint`).
 * Printed without a stack; the command exits with `exitCode`.
 */
const BRAND = Symbol.for('fanout.cli.UsageError');

export class UsageError extends Error {
  /** Marks a UsageError from any copy of this module (see the static hasInstance). */
  readonly [BRAND] = true;

  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = EXIT_ERROR,
  ) {
    super(message);
    this.name = 'UsageError';
  }

  /**
   * `instanceof` by brand: the bundled command (scripts/bundle.mjs) and the
   * `run` and `worker` modules it loads each have a copy of this class.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && BRAND in value;
  }
}

/** The exit code for `failed` failed tasks: their number, capped at 101. */
export function failedExitCode(failed: number): number {
  return Math.min(failed, 101);
}

/** Parses `-j`: a positive integer, or `N%` of the cores. */
export function parseJobs(value: string): number {
  const percent = /^(\d+)%$/.exec(value);
  if (percent) return Math.max(1, Math.floor((availableParallelism() * Number(percent[1])) / 100));
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number of 1 or more (or N%), got "${value}".`);
  }
  return n;
}

/** Parses a count that may be 0, such as `--retries`. */
export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new InvalidArgumentError(`expected a whole number of 0 or more, got "${value}".`);
  }
  return n;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration into ms: `1.5` (seconds, as GNU parallel), `500ms`, `2s`, `1m`, `1h`. */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) {
    throw new InvalidArgumentError(
      `expected a duration such as 30 (seconds), 500ms, 2s, 1m, got "${value}".`,
    );
  }
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}

/** A one-line description of any thrown value. */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${err.message}`;
  }
  return String(err);
}
