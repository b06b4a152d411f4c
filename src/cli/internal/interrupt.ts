// Ends a run early from outside: Ctrl-C, `kill`, or the reader of stdout
// going away. The first SIGINT or SIGTERM cancels the run (jobs are stopped,
// tasks aborted), so that nothing keeps running once the command is gone; a
// second one exits at once. A closed stdout (EPIPE, as in `fanout ... | head`)
// cancels the run the same way, quietly.

import { CancelledError } from '../../errors.ts';

/** A run's outside cancellation: its signal, and the exit code it calls for, if it fired. */
export interface Interrupts {
  readonly signal: AbortSignal;
  /** 130 after SIGINT, 143 after SIGTERM, 141 after a closed stdout; undefined if none. */
  exitCode(): number | undefined;
  /** Cancels the run because stdout or stderr can no longer be written. */
  outputClosed(): void;
  dispose(): void;
}

export function interrupts(): Interrupts {
  const controller = new AbortController();
  let code: number | undefined;
  const cancel = (exitCode: number, why: string) => {
    if (code !== undefined) return;
    code = exitCode;
    controller.abort(new CancelledError(why));
  };
  const on = (sig: NodeJS.Signals) => {
    const exitCode = sig === 'SIGINT' ? 130 : 143;
    if (code !== undefined) process.exit(exitCode);
    cancel(exitCode, `interrupted by ${sig}`);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal: controller.signal,
    exitCode: () => code,
    outputClosed: () => cancel(141, 'the output was closed'),
    dispose() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}
