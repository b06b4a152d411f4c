// `--joblog FILE` in GNU parallel's format, so tools that read parallel's
// joblogs (and `--resume`-style scripts) read ours: a header, then one
// tab-separated line per finished attempt, in the order they finish.

import { createWriteStream, type WriteStream } from 'node:fs';
import { constants } from 'node:os';
import type { JobResult } from './job.ts';

const HEADER = 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n';

export class JobLog {
  private readonly file: WriteStream;

  constructor(path: string) {
    this.file = createWriteStream(path);
    this.file.write(HEADER);
  }

  /** Resolves once the file is open, rejecting with why it cannot be. */
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.file.once('ready', () => resolve());
      this.file.once('error', reject);
    });
  }

  record(seq: number, command: string, r: JobResult): void {
    const start = (r.start / 1000).toFixed(3);
    const runtime = (r.runtime / 1000).toFixed(3).padStart(8);
    const signal = r.signal ? constants.signals[r.signal] : 0;
    // A command line with a newline would break the one-line-per-job format.
    const cmd = command.replaceAll('\n', '\\n');
    this.file.write(
      `${seq}\t:\t${start}\t${runtime}\t0\t${r.received}\t${r.exitCode}\t${signal}\t${cmd}\n`,
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.file.end(() => resolve()));
  }
}
