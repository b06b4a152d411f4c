// Starts `fanout exec` jobs through long-lived bash "lanes" instead of one
// child_process.spawn per job.
//
// Why: spawn blocks Node's only thread from fork until the child has
// exec'd, 1-3 ms per job on a busy machine, so short jobs ran at a third of
// xargs' rate. A lane is a small bash that runs one job at a time: it forks
// `/bin/sh -c LINE` in the background (a process group of its own, thanks to
// `set -m`), reports the pid, waits, and reports the status; bash forks in
// tens of microseconds and never waits for the exec. Node only writes a
// line and reads a few bytes per job.
//
// Protocol, per lane: Node writes the command line and a NUL to its stdin.
// The lane writes `P <pid>` on fd 3 once started, then after the job exits
// writes MARK to fd 1 (the job's stdout) and fd 4 (the job's stderr), then
// `E <status>` on fd 3. A job's output is everything on fd 1 and fd 4 up to
// the mark. Its stdin is /dev/null, and it does not inherit fds 3 and 4.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';
import { listen } from '../../internal/abort.ts';
import type { JobOptions, JobResult } from './job.ts';
import { MarkSplitter } from './mark-splitter.ts';

const BASH = ['/bin/bash', '/usr/bin/bash', '/usr/local/bin/bash'].find((p) => existsSync(p));

const SCRIPT = `
set -m
M="$1"
while IFS= read -r -d '' c; do
  /bin/sh -c "$c" </dev/null 2>&4 3>&- 4>&- &
  p=$!
  echo "P $p" >&3
  wait "$p"
  s=$?
  printf '%s' "$M"
  printf '%s' "$M" >&4
  echo "E $s" >&3
done
`;

/** Whether lanes can run here (bash is installed). */
export function lanesAvailable(): boolean {
  return BASH !== undefined && process.env.FANOUT_EXEC_LAUNCHER !== 'spawn';
}

interface Current {
  options: JobOptions;
  resolve: (r: JobResult) => void;
  stdout: Buffer[];
  stderr: Buffer[];
  received: number;
  start: number;
  t0: number;
  pid: number | undefined;
  status: number | undefined;
  marks: number;
  /** The signal we sent, to tell a kill from an exit code above 128. */
  sent: NodeJS.Signals | undefined;
  killTimer: NodeJS.Timeout | undefined;
  unlisten: () => void;
}

/** One bash that runs jobs one after another. */
class Lane {
  private readonly child: ChildProcess;
  private readonly mark: Buffer;
  private current: Current | undefined;
  private protocol = '';
  dead = false;

  constructor(private readonly onIdle: (lane: Lane) => void) {
    const mark = `\u001e<fanout:${randomBytes(12).toString('hex')}>\u001e`;
    this.mark = Buffer.from(mark);
    this.child = spawn(BASH!, ['-c', SCRIPT, 'fanout-lane', mark], {
      // The lane's own stderr only carries bash's job notices.
      stdio: ['pipe', 'pipe', 'ignore', 'pipe', 'pipe'],
      // Its own session: a Ctrl-C at the terminal reaches fanout, which stops
      // the jobs itself, and not the lanes, which must report them.
      detached: true,
    });
    this.child.stdin!.on('error', () => {});
    new MarkSplitter(
      this.child.stdout!,
      this.mark,
      (b) => this.data(1, b),
      () => this.marked(),
    );
    new MarkSplitter(
      this.child.stdio[4] as Readable,
      this.mark,
      (b) => this.data(2, b),
      () => this.marked(),
    );
    const proto = this.child.stdio[3] as Readable;
    proto.setEncoding('latin1');
    proto.on('data', (s: string) => this.onProtocol(s));
    this.child.on('exit', () => this.died());
    this.child.on('error', () => this.died());
  }

  run(line: string, options: JobOptions, resolve: (r: JobResult) => void): void {
    const job: Current = {
      options,
      resolve,
      stdout: [],
      stderr: [],
      received: 0,
      start: Date.now(),
      t0: performance.now(),
      pid: undefined,
      status: undefined,
      marks: 0,
      sent: undefined,
      killTimer: undefined,
      unlisten: () => {},
    };
    this.current = job;
    job.unlisten = listen(options.signal, () => this.kill(job, 'SIGTERM'));
    this.child.stdin!.write(`${line}\0`);
  }

  private kill(job: Current, sig: NodeJS.Signals): void {
    if (job !== this.current) return;
    job.sent = sig;
    if (job.pid === undefined) return; // killed as soon as its pid arrives
    try {
      process.kill(-job.pid, sig);
    } catch {
      // Already gone.
    }
    if (sig === 'SIGTERM') {
      job.killTimer = setTimeout(() => this.kill(job, 'SIGKILL'), job.options.grace);
      job.killTimer.unref();
    }
  }

  private data(stream: 1 | 2, b: Buffer): void {
    const job = this.current;
    if (job === undefined) return; // output of a job's leftover background process
    job.received += b.length;
    if (job.options.onData) job.options.onData(stream, b);
    else (stream === 1 ? job.stdout : job.stderr).push(b);
  }

  private onProtocol(s: string): void {
    this.protocol += s;
    for (let nl = this.protocol.indexOf('\n'); nl !== -1; nl = this.protocol.indexOf('\n')) {
      const msg = this.protocol.slice(0, nl);
      this.protocol = this.protocol.slice(nl + 1);
      const job = this.current;
      if (job === undefined) continue;
      const n = Number(msg.slice(2));
      if (msg[0] === 'P') {
        job.pid = n;
        if (job.sent !== undefined) this.kill(job, job.sent);
      } else {
        job.status = n;
        this.maybeDone();
      }
    }
  }

  private marked(): void {
    if (this.current) this.current.marks++;
    this.maybeDone();
  }

  private maybeDone(): void {
    const job = this.current;
    if (job === undefined || job.status === undefined || job.marks < 2) return;
    this.current = undefined;
    this.finish(job, job.status);
    this.onIdle(this);
  }

  private finish(job: Current, status: number): void {
    job.unlisten();
    if (job.killTimer !== undefined) clearTimeout(job.killTimer);
    // The shell reports death by signal N as 128 + N; it is a kill when we sent one.
    const signalled = job.sent !== undefined && status > 128;
    const signal = signalled ? signalName(status - 128) : null;
    job.resolve({
      exitCode: signalled ? -1 : status,
      signal,
      stdout: job.stdout,
      stderr: job.stderr,
      received: job.received,
      start: job.start,
      runtime: performance.now() - job.t0,
    });
  }

  private died(): void {
    if (this.dead) return;
    this.dead = true;
    const job = this.current;
    this.current = undefined;
    if (job) {
      if (job.pid !== undefined) {
        try {
          process.kill(-job.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      job.stderr.push(Buffer.from('fanout: the shell running this job died\n'));
      this.finish(job, 255);
    }
  }

  /** Ends the lane's input; resolves once it has exited (after its current job, if any). */
  close(): Promise<void> {
    if (this.dead) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.stdin!.end();
    });
  }
}

function signalName(n: number): NodeJS.Signals | null {
  for (const [name, num] of Object.entries(constants.signals)) {
    if (num === n) return name as NodeJS.Signals;
  }
  return null;
}

/** The lanes of one run: as many as jobs run at once, started as needed. */
export class Lanes {
  private readonly idle: Lane[] = [];
  private readonly all = new Set<Lane>();

  /** Runs the shell command `line` on an idle lane; resolves like runJob. */
  run(line: string, options: JobOptions): Promise<JobResult> {
    if (options.signal.aborted) {
      return Promise.resolve({
        exitCode: -1,
        signal: 'SIGTERM',
        stdout: [],
        stderr: [],
        received: 0,
        start: Date.now(),
        runtime: 0,
      });
    }
    let lane = this.idle.pop();
    while (lane?.dead) lane = this.idle.pop();
    if (lane === undefined) {
      lane = new Lane((l) => {
        if (!l.dead) this.idle.push(l);
      });
      this.all.add(lane);
    }
    const l = lane;
    return new Promise((resolve) => l.run(line, options, resolve));
  }

  /** Ends every lane and resolves once they have exited. */
  async close(): Promise<void> {
    await Promise.all([...this.all].map((lane) => lane.close()));
  }
}
