// Runs one `fanout exec` job as its own process group, so that stopping it
// stops everything it started: SIGTERM to the group, then SIGKILL once the
// grace period is over.

import { spawn } from 'node:child_process';
import { listen } from '../../internal/abort.ts';
import type { Invocation } from './template.ts';

/** How a job ended, with its captured output. */
export interface JobResult {
  /** Exit code, or -1 when the job was killed by a signal. */
  exitCode: number;
  /** The signal that killed it (name), if any. */
  signal: NodeJS.Signals | null;
  /** false when it never ran: cancelled before it started. */
  started: boolean;
  stdout: Buffer[];
  stderr: Buffer[];
  /** Bytes of output, for the joblog's Receive column. */
  received: number;
  /** Epoch ms at start, and run time in ms (0 when it never started). */
  start: number;
  runtime: number;
}

export interface JobOptions {
  /** Aborts the job: its group gets SIGTERM, then SIGKILL after `grace` ms. */
  signal: AbortSignal;
  grace: number;
  /** Called once the job's process has started. */
  onStart?: () => void;
  /** Called with each chunk as it arrives instead of capturing it (`--line-buffer`). */
  onData?: (stream: 1 | 2, chunk: Buffer) => void;
}

const SHELL = '/bin/sh';
// A plain copy: spawn reads every variable of the env it is given, and
// reading process.env goes through the C++ environment each time.
const ENV = { ...process.env };

/** The result of a job cancelled before it started: reported as stopped by SIGTERM. */
export function notStarted(): JobResult {
  return {
    exitCode: -1,
    signal: 'SIGTERM',
    started: false,
    stdout: [],
    stderr: [],
    received: 0,
    start: Date.now(),
    runtime: 0,
  };
}

/**
 * The result of a job refused before it started, with `why` on its stderr:
 * exit code 126, as the shell gives a command it cannot run.
 */
export function refused(why: string): JobResult {
  const r = notStarted();
  r.exitCode = 126;
  r.signal = null;
  r.stderr.push(Buffer.from(`fanout: ${why}\n`));
  return r;
}

/** Sends `sig` to the process group that `pid` leads (every job leads its own); quiet if it is gone. */
export function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    // The minus sign addresses the whole process group.
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}

/** A NUL byte ends a C string: no command line or argv can carry one. */
export const NUL_REFUSED = 'the command line contains a NUL byte; it cannot be passed to a command';

/** Starts `inv` and resolves when it has exited and its output is closed; never rejects. */
export function runJob(inv: Invocation, options: JobOptions): Promise<JobResult> {
  if (options.signal.aborted) return Promise.resolve(notStarted());
  if (inv.shell ? inv.line.includes('\0') : [inv.file, ...inv.args].some((a) => a.includes('\0'))) {
    return Promise.resolve(refused(NUL_REFUSED));
  }
  const start = Date.now();
  const t0 = performance.now();
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  let received = 0;
  return new Promise((resolve) => {
    const [file, args] = inv.shell ? [SHELL, ['-c', inv.line]] : [inv.file, inv.args];
    const child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: ENV,
    });
    options.onStart?.();
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (exitCode: number, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      unlisten();
      if (killTimer !== undefined) clearTimeout(killTimer);
      resolve({
        exitCode,
        signal,
        started: true,
        stdout,
        stderr,
        received,
        start,
        runtime: performance.now() - t0,
      });
    };
    const kill = (sig: NodeJS.Signals) => killGroup(child.pid!, sig);
    const unlisten = listen(options.signal, () => {
      if (child.pid === undefined) return;
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), options.grace);
      killTimer.unref();
    });
    const onData = options.onData;
    child.stdout.on('data', (b: Buffer) => {
      received += b.length;
      if (onData) onData(1, b);
      else stdout.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      received += b.length;
      if (onData) onData(2, b);
      else stderr.push(b);
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      // The shell says "not found" with 127 and "not executable" with 126; do the same.
      const code = err.code === 'ENOENT' ? 127 : 126;
      const what = err.code === 'ENOENT' ? 'command not found' : err.message;
      const msg = Buffer.from(`fanout: ${file}: ${what}\n`);
      if (onData) onData(2, msg);
      else stderr.push(msg);
      finish(code, null);
    });
    child.on('close', (code, signal) => finish(code ?? -1, signal));
  });
}
