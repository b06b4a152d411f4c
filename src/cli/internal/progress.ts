// The progress bar people see at a terminal: counts, rate and ETA on
// stderr, redrawn at most ten times a second by cli-progress. Loaded only
// when it will be shown, so a pipe never pays for it.

import type { SingleBar } from 'cli-progress';
import { colours, GREEN, paint } from './style.ts';

/** Counts a run reports; `show` draws them, or does nothing when off. */
export interface Progress {
  start(): void;
  /** A task ended; `started` false for one cancelled before start() was called for it. */
  done(failed: boolean, started?: boolean): void;
  stop(): void;
}

const OFF: Progress = { start() {}, done() {}, stop() {} };

/**
 * Whether to draw: `flag` true (`--progress`) draws whenever stderr is a
 * terminal; undefined draws when stderr is a terminal and stdout is not
 * (so the bar never tangles with results on the same screen); false never.
 */
export function wantProgress(flag: boolean | undefined): boolean {
  if (flag === false || !process.stderr.isTTY) return false;
  return flag === true || !process.stdout.isTTY;
}

/** A progress display for a run of `total` tasks (when known), or one that draws nothing. */
export async function progress(show: boolean, total: number | undefined): Promise<Progress> {
  if (!show) return OFF;
  const { default: cliProgress } = await import('cli-progress');
  const colour = colours(process.stderr);
  const known = total !== undefined;
  const format = known
    ? `${paint(colour, GREEN, '{bar}')} {percentage}% | {value}/{total} done | {failed} failed | {running} running | {rate}/s | ETA {eta_formatted}`
    : '{value} done | {failed} failed | {running} running | {rate}/s | {duration_formatted}';
  const bar: SingleBar = new cliProgress.SingleBar({
    format,
    stream: process.stderr,
    hideCursor: true,
    barsize: 30,
    etaBuffer: 100,
    fps: 10,
    barCompleteChar: '█',
    barIncompleteChar: '░',
  });
  const t0 = performance.now();
  let done = 0;
  let failed = 0;
  let running = 0;
  const payload = () => ({
    failed,
    running,
    rate: (done / Math.max(0.001, (performance.now() - t0) / 1000)).toFixed(1),
  });
  bar.start(total ?? 0, 0, payload());
  return {
    start() {
      running++;
      bar.update(done, payload());
    },
    done(f, started = true) {
      if (started) running--;
      done++;
      if (f) failed++;
      bar.update(done, payload());
    },
    stop() {
      bar.update(done, payload());
      bar.stop();
    },
  };
}
