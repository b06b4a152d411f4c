// Shared by every bench suite. A suite is a script `bench/<area>.ts`: run
// with a case name it runs that one case in this process and prints one JSON
// line; run without arguments it runs each case in a fresh process (so that
// peak RSS belongs to that case alone) and prints a markdown table.

import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, totalmem } from 'node:os';

/** One line naming the machine, for the committed tables. */
export function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  const gib = (totalmem() / 2 ** 30).toFixed(0);
  return `Node ${process.version}, ${process.platform}/${process.arch}, ${availableParallelism()} cores (${cpu}), ${gib} GiB`;
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs `fn` and returns nanoseconds elapsed. */
export async function time(fn: () => unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0);
}

/**
 * Runs `script` with `args` in a fresh Node process (through tsx) and
 * returns the JSON object printed on its last line of stdout.
 */
export function isolated<T = Record<string, unknown>>(
  script: string,
  args: string[],
  nodeArgs: string[] = [],
): T {
  const r = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', script, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) {
    throw new Error(`${script} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  }
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** A markdown table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Formats a number with a fixed number of decimals. */
export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : String(n);
}

/** The case name this suite process was asked to run, if any. */
export function caseArg(): string | undefined {
  return process.argv[2];
}

/** Prints the one JSON line a case reports to its parent. */
export function report(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
