// Ctrl-C and `kill` while a run is going: the first SIGINT or SIGTERM
// cancels the run (jobs are stopped, workers finish or hand back), so that
// nothing keeps running once the command is gone; a second one exits at once.

import { CancelledError } from '../../errors.ts';

/** A signal that aborts on SIGINT or SIGTERM, and the remover of those handlers. */
export function interrupts(): {
  signal: AbortSignal;
  received: () => NodeJS.Signals | undefined;
  dispose: () => void;
} {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const on = (sig: NodeJS.Signals) => {
    if (received !== undefined) process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
    received = sig;
    controller.abort(new CancelledError(`interrupted by ${sig}`));
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal: controller.signal,
    received: () => received,
    dispose() {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** The exit code for a run ended by `sig`: 128 plus its number, as shells report it. */
export function signalExitCode(sig: NodeJS.Signals): number {
  return sig === 'SIGINT' ? 130 : 143;
}
