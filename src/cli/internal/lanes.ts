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
// the mark. Its stdin is /dev/null, and it does not inherit fds 3 to 5.
//
// Lookahead: Node may write a second job while the first runs, so the lane
// starts it the moment the first exits, as xargs would, instead of waiting a
// round trip through Node's event loop for it. That queued job must not start
// once the run is stopping, so fd 5 carries control bytes from Node: before
// each job the lane checks it without blocking, and once anything is there
// (or Node is gone) it skips every job left, answering `S` for each. With
// `pause` set (fail-fast runs), after a job exits non-zero the lane waits for
// one byte on fd 5 before the next: `c` to go on (the job is retried, or
// failures do not stop the run), anything else to stop. So the first failure
// starts nothing more on its own lane.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { listen } from '../../internal/abort.ts';
import { type JobOptions, type JobResult, NUL_REFUSED, notStarted, refused } from './job.ts';
import { MarkSplitter } from './mark-splitter.ts';

const BASH = ['/bin/bash', '/usr/bin/bash', '/usr/local/bin/bash'].find((p) => existsSync(p));

const SCRIPT = `
set -m
M="$1"
pause="$2"
h=
while IFS= read -r -d '' c; do
  if [ -z "$h" ] && read -t 0 -u 5; then h=1; fi
  if [ -n "$h" ]; then
    printf '%s' "$M"
    printf '%s' "$M" >&4
    echo S >&3
    continue
  fi
  /bin/sh -c "$c" </dev/null 2>&4 3>&- 4>&- 5<&- &
  p=$!
  echo "P $p" >&3
  wait "$p"
  s=$?
  printf '%s' "$M"
  printf '%s' "$M" >&4
  echo "E $s" >&3
  if [ "$s" -ne 0 ] && [ -n "$pause" ]; then
    IFS= read -r -n 1 -u 5 d
    [ "$d" = c ] || h=1
  fi
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
  /** Epoch ms and performance.now() when its pid arrived. */
  start: number;
  t0: number;
  pid: number | undefined;
  status: number | undefined;
  /** It never started: the lane skipped it. */
  skipped: boolean;
  /** The marks seen, on its stdout (bit 1) and stderr (bit 2). */
  marks: number;
  /** The signal we sent, to tell a kill from an exit code above 128. */
  sent: NodeJS.Signals | undefined;
  killTimer: NodeJS.Timeout | undefined;
  unlisten: () => void;
}

/** One bash that runs jobs one after another: the first of `jobs` runs, a second may wait. */
class Lane {
  private readonly child: ChildProcess;
  private readonly control: Writable;
  private readonly mark: Buffer;
  /** Written to the lane and not yet finished, in order. */
  readonly jobs: Current[] = [];
  private protocol = '';
  /** Told to skip the jobs it has not started. */
  private halted = false;
  dead = false;

  constructor(
    private readonly lookahead: boolean,
    private readonly pause: boolean,
  ) {
    const mark = `\u001e<fanout:${randomBytes(12).toString('hex')}>\u001e`;
    this.mark = Buffer.from(mark);
    this.child = spawn(BASH!, ['-c', SCRIPT, 'fanout-lane', mark, pause ? '1' : ''], {
      // The lane's own stderr only carries bash's job notices.
      stdio: ['pipe', 'pipe', 'ignore', 'pipe', 'pipe', 'pipe'],
      // Its own session: a Ctrl-C at the terminal reaches fanout, which stops
      // the jobs itself, and not the lanes, which must report them.
      detached: true,
    });
    this.child.stdin!.on('error', () => {});
    this.control = (this.child.stdio as unknown as Writable[])[5]!;
    this.control.on('error', () => {});
    new MarkSplitter(
      this.child.stdout!,
      this.mark,
      (b) => this.data(1, b),
      () => this.marked(1),
    );
    new MarkSplitter(
      this.child.stdio[4] as Readable,
      this.mark,
      (b) => this.data(2, b),
      () => this.marked(2),
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
      start: 0,
      t0: 0,
      pid: undefined,
      status: undefined,
      skipped: false,
      marks: 0,
      sent: undefined,
      killTimer: undefined,
      unlisten: () => {},
    };
    this.jobs.push(job);
    job.unlisten = listen(options.signal, () => this.kill(job, 'SIGTERM'));
    this.child.stdin!.write(`${line}\0`);
  }

  /** Makes the lane skip every job it has not started, from now on. */
  halt(): void {
    if (this.halted || this.dead) return;
    this.halted = true;
    this.control.write('s');
  }

  private kill(job: Current, sig: NodeJS.Signals): void {
    if (job.status !== undefined || job.skipped) return;
    job.sent = sig;
    if (job.pid === undefined) {
      // Not started. With lookahead a job is cancelled before it starts only
      // when the run stops (see LanesOptions), so the lane is told to start
      // nothing more. One that starts all the same is killed when its pid
      // arrives.
      if (this.lookahead) this.halt();
      return;
    }
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

  // Each of the lane's three streams is in job order, but one may run ahead
  // of another: the next job's pid can come before this one's marks. So each
  // stream speaks of the first job it has not finished with.

  /** The first job whose mark on `stream` has not come yet. */
  private onStream(stream: 1 | 2): Current | undefined {
    for (const job of this.jobs) if ((job.marks & stream) === 0) return job;
    return undefined;
  }

  /** The first job whose end (`E` or `S`) has not come yet: fd 3 speaks of it. */
  private unreported(): Current | undefined {
    for (const job of this.jobs) if (job.status === undefined && !job.skipped) return job;
    return undefined;
  }

  private data(stream: 1 | 2, b: Buffer): void {
    const job = this.onStream(stream);
    if (job === undefined) return; // output of a job's leftover background process
    job.received += b.length;
    if (job.options.onData) job.options.onData(stream, b);
    else (stream === 1 ? job.stdout : job.stderr).push(b);
  }

  private marked(stream: 1 | 2): void {
    const job = this.onStream(stream);
    if (job === undefined) return;
    job.marks |= stream;
    this.maybeDone();
  }

  private onProtocol(s: string): void {
    this.protocol += s;
    for (let nl = this.protocol.indexOf('\n'); nl !== -1; nl = this.protocol.indexOf('\n')) {
      const msg = this.protocol.slice(0, nl);
      this.protocol = this.protocol.slice(nl + 1);
      const job = this.unreported();
      if (job === undefined) continue;
      if (msg[0] === 'P') {
        job.pid = Number(msg.slice(2));
        job.start = Date.now();
        job.t0 = performance.now();
        job.options.onStart?.();
        if (job.sent !== undefined) this.kill(job, job.sent);
      } else if (msg[0] === 'S') {
        job.skipped = true;
        this.maybeDone();
      } else {
        job.status = Number(msg.slice(2));
        this.maybeDone();
      }
    }
  }

  /** Finishes the jobs at the front whose three streams are all through. */
  private maybeDone(): void {
    for (let job = this.jobs[0]; job !== undefined; job = this.jobs[0]) {
      if (job.marks !== 3 || (job.status === undefined && !job.skipped)) return;
      this.jobs.shift();
      if (job.skipped) {
        this.finish(job, -1, 'SIGTERM');
        continue;
      }
      const status = job.status!;
      if (status !== 0 && this.pause) {
        // The lane waits for a word before its next job. By the next turn of
        // the event loop the run has taken the failure in: a run that stops
        // has cancelled the job waiting behind (and so halted the lane).
        setImmediate(() => {
          if (!this.halted && !this.dead) this.control.write('c');
        });
      }
      // The shell reports death by signal N as 128 + N; it is a kill when we sent one.
      const signalled = job.sent !== undefined && status > 128;
      this.finish(job, signalled ? -1 : status, signalled ? signalName(status - 128) : null);
    }
  }

  private finish(job: Current, exitCode: number, signal: NodeJS.Signals | null): void {
    job.unlisten();
    if (job.killTimer !== undefined) clearTimeout(job.killTimer);
    const started = job.pid !== undefined;
    job.resolve({
      exitCode,
      signal,
      started,
      stdout: job.stdout,
      stderr: job.stderr,
      received: job.received,
      start: started ? job.start : Date.now(),
      runtime: started ? performance.now() - job.t0 : 0,
    });
  }

  private died(): void {
    if (this.dead) return;
    this.dead = true;
    const jobs = this.jobs.splice(0);
    for (const job of jobs) {
      if (job.pid !== undefined) {
        try {
          process.kill(-job.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      job.stderr.push(Buffer.from('fanout: the shell running this job died\n'));
      this.finish(job, 255, null);
    }
  }

  /** Ends the lane's input; resolves once it has exited (after its jobs, if any). */
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

/** How the lanes of a run work. */
export interface LanesOptions {
  /** Jobs at once: the number of lanes. */
  size: number;
  /**
   * Let a job wait in a lane behind the running one (up to 2 × size jobs in
   * hand). Only when cancelling a job that has not started means the whole
   * run stops: cancelling one halts its lane. Off when jobs have their own
   * time limits, which must not count the wait.
   */
  lookahead: boolean;
  /** After a job fails, each lane waits to hear whether the run goes on (fail-fast runs). */
  pause: boolean;
}

/** The lanes of one run, started as needed up to `size`. */
export class Lanes {
  private readonly all: Lane[] = [];

  constructor(private readonly options: LanesOptions) {}

  /** How many jobs may be in hand at once: one per lane, two with lookahead. */
  get capacity(): number {
    return this.options.lookahead ? 2 * this.options.size : this.options.size;
  }

  /**
   * Runs the shell command `line` on a lane with room; resolves like runJob.
   * At most `capacity` jobs may be in hand at once.
   */
  run(line: string, options: JobOptions): Promise<JobResult> {
    if (options.signal.aborted) return Promise.resolve(notStarted());
    // The lane reads NUL-ended lines: a NUL inside would end this job early
    // and run the rest of the line as a job of its own.
    if (line.includes('\0')) return Promise.resolve(refused(NUL_REFUSED));
    const lane = this.pick();
    return new Promise((resolve) => lane.run(line, options, resolve));
  }

  /** An idle lane, else a new one, else (with lookahead) one running a single job. */
  private pick(): Lane {
    const all = this.all;
    for (let i = all.length - 1; i >= 0; i--) if (all[i]!.dead) all.splice(i, 1);
    for (const lane of all) if (lane.jobs.length === 0) return lane;
    if (all.length < this.options.size) {
      const lane = new Lane(this.options.lookahead, this.options.pause);
      all.push(lane);
      return lane;
    }
    if (this.options.lookahead) for (const lane of all) if (lane.jobs.length === 1) return lane;
    throw new Error(`fanout: more jobs in hand than ${this.options.size} lanes take`);
  }

  /** Ends every lane and resolves once they have exited. */
  async close(): Promise<void> {
    await Promise.all(this.all.map((lane) => lane.close()));
  }
}
