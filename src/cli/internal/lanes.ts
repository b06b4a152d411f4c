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
// writes MARK to fd 4 (the job's stderr) and MARK and the exit status in
// three digits to fd 1 (the job's stdout): one read less per job than a
// status line on fd 3. A job's output is everything on fd 1 and fd 4 up to
// the mark. A job is over once its pid, both marks and its status are in,
// in whatever order the three streams bring them. Its stdin is /dev/null,
// and it does not inherit fds 3 to 5.
//
// Lookahead: Node may write a second job while the first runs, so the lane
// starts it the moment the first exits, as xargs would, instead of waiting a
// round trip through Node's event loop for it. Such a job waits behind the
// running one whatever happens elsewhere: the lane cannot hear from Node
// while it waits for a job (a signal would end bash's `wait` early, and bash
// can then lose the job's exit status). So Node queues a job behind a
// running one only while that one is young, younger than the jobs of the
// run have taken on average, and holds it itself otherwise, for the first
// lane to finish. Before it has seen `size` jobs end it queues nothing.
//
// fd 5 carries control lines from Node, which the lane reads without
// blocking before each job. `r<n>` recalls the lane's n-th job (counting
// from 1): a cancelled job that must not start. When its turn comes the lane
// skips it and answers `R`, with no marks (a job that never ran has no
// output). A recall that comes too late is never matched: the job has
// started (`P`), and is then killed. Node writes no job after a recalled one
// until the answer comes, so the marks on fds 1 and 4 stay in job order.
// Once fd 5 is closed (Node is gone) the lane skips every job left,
// answering `S`. With `pause` set (fail-fast runs), after a job exits
// non-zero the lane waits for a `c` line before its next job: Node sends it
// once the run has taken the failure in, after any recall the failure
// caused, so the first failure starts nothing more on its own lane.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { listen, noop } from '../../internal/abort.ts';
import {
  type JobOptions,
  type JobResult,
  killGroup,
  NUL_REFUSED,
  notStarted,
  refused,
} from './job.ts';
import { MarkSplitter } from './mark-splitter.ts';

const BASH = ['/bin/bash', '/usr/bin/bash', '/usr/local/bin/bash'].find((p) => existsSync(p));

const SCRIPT = `
set -m
M="$1"
pause="$2"
h=
n=0
r=0
ctl() {
  while [ -z "$h" ] && read -t 0 -u 5; do
    d=
    IFS= read -r -u 5 d || h=1
    case $d in r*) r=\${d#r} ;; esac
  done
}
while IFS= read -r -d '' c; do
  n=$((n + 1))
  ctl
  if [ -n "$h" ]; then echo S >&3; continue; fi
  if [ "$r" = "$n" ]; then echo R >&3; continue; fi
  /bin/sh -c "$c" </dev/null 2>&4 3>&- 4>&- 5<&- &
  p=$!
  echo "P $p" >&3
  wait "$p"
  s=$?
  printf '%s' "$M" >&4
  printf '%s%03d' "$M" "$s"
  if [ "$s" -ne 0 ] && [ -n "$pause" ]; then
    while :; do
      d=
      IFS= read -r -u 5 d || { h=1; break; }
      case $d in c) break ;; r*) r=\${d#r} ;; esac
    done
  fi
done
`;

/** Whether lanes can run here (bash is installed). */
export function lanesAvailable(): boolean {
  return BASH !== undefined && process.env.FANOUT_EXEC_LAUNCHER !== 'spawn';
}

/** A job in hand: written to a lane and not yet finished. */
interface Current {
  readonly line: string;
  readonly options: JobOptions;
  readonly resolve: (r: JobResult) => void;
  /** The lane it is on (none while fanout holds it), and its number there (the lane counts jobs from 1). */
  lane: Lane | undefined;
  n: number;
  stdout: Buffer[];
  stderr: Buffer[];
  received: number;
  /** Epoch ms and performance.now() when its pid arrived. */
  start: number;
  t0: number;
  pid: number | undefined;
  status: number | undefined;
  /** Asked back: `r<n>` sent. */
  recalled: boolean;
  /** The marks seen, on its stdout (bit 1) and stderr (bit 2). */
  marks: number;
  /** The signal we sent (or would have, had it started), to tell a kill from an exit code above 128. */
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
  /** Jobs written to the lane so far: the number of the last. */
  private written = 0;
  private protocol = '';
  dead = false;

  constructor(
    private readonly owner: Lanes,
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
      (status) => this.ended(status),
      3,
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

  /** Writes `job` to the lane, after the jobs it already has. */
  take(job: Current): void {
    job.lane = this;
    job.n = ++this.written;
    this.jobs.push(job);
    this.child.stdin!.write(`${job.line}\0`);
  }

  /**
   * Whether a job may wait behind this lane's only job, now `now`: that one
   * is younger than `young` ms, and no recall is pending.
   */
  canQueue(now: number, young: number): boolean {
    if (this.jobs.length !== 1) return false;
    const job = this.jobs[0]!;
    if (job.recalled) return false;
    return job.pid === undefined || now - job.t0 < young;
  }

  kill(job: Current, sig: NodeJS.Signals): void {
    if (job.status !== undefined) return;
    job.sent = sig;
    if (job.pid === undefined) {
      // Not started: it must not start now. One that starts all the same (the
      // recall came too late) is killed when its pid arrives.
      if (!job.recalled && !this.dead) {
        job.recalled = true;
        this.control.write(`r${job.n}\n`);
      }
      return;
    }
    killGroup(job.pid, sig);
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

  /** The first job that has not started: fd 3 (`P`, `S` and `R`) speaks of it. */
  private unstarted(): Current | undefined {
    for (const job of this.jobs) if (job.pid === undefined) return job;
    return undefined;
  }

  private data(stream: 1 | 2, b: Buffer): void {
    const job = this.onStream(stream);
    if (job === undefined) return; // output of a job's leftover background process
    job.received += b.length;
    if (job.options.onData) job.options.onData(stream, b);
    else (stream === 1 ? job.stdout : job.stderr).push(b);
  }

  /** The stdout mark, and after it the job's exit status in three digits. */
  private ended(status: Buffer): void {
    this.marked(1, (status[0]! - 48) * 100 + (status[1]! - 48) * 10 + (status[2]! - 48));
  }

  private marked(stream: 1 | 2, status?: number): void {
    const job = this.onStream(stream);
    if (job === undefined) return;
    job.marks |= stream;
    if (status !== undefined) job.status = status;
    this.maybeDone();
  }

  private onProtocol(s: string): void {
    this.protocol += s;
    for (let nl = this.protocol.indexOf('\n'); nl !== -1; nl = this.protocol.indexOf('\n')) {
      const msg = this.protocol.slice(0, nl);
      this.protocol = this.protocol.slice(nl + 1);
      const job = this.unstarted();
      if (job === undefined) continue;
      if (msg[0] === 'P') {
        job.pid = Number(msg.slice(2));
        job.start = Date.now();
        job.t0 = performance.now();
        job.options.onStart?.();
        if (job.sent !== undefined) this.kill(job, job.sent);
        this.maybeDone();
      } else {
        // `S` or `R`: it never started, and so has no output nor marks.
        this.jobs.splice(this.jobs.indexOf(job), 1);
        this.owner.finish(job, notStarted());
      }
    }
  }

  /**
   * Finishes the jobs at the front that have ended and whose output is all
   * through. Its `P` may come after all that (fd 3 is a stream of its own):
   * a job is finished only once its pid is known too, so that the pid goes
   * to it and not to the job after it.
   */
  private maybeDone(): void {
    for (let job = this.jobs[0]; job !== undefined; job = this.jobs[0]) {
      if (job.marks !== 3 || job.status === undefined || job.pid === undefined) return;
      this.jobs.shift();
      const status = job.status;
      if (status !== 0 && this.pause) {
        // The lane waits for a word before its next job. By the next turn of
        // the event loop the run has taken the failure in: a run that stops
        // has cancelled, and so recalled, the job waiting behind.
        setImmediate(() => {
          if (!this.dead) this.control.write('c\n');
        });
      }
      // The shell reports death by signal N as 128 + N; it is a kill when we sent one.
      const signalled = job.sent !== undefined && status > 128;
      this.owner.finish(
        job,
        resultOf(job, signalled ? -1 : status, signalled ? signalName(status - 128) : null),
      );
    }
  }

  private died(): void {
    if (this.dead) return;
    this.dead = true;
    for (const job of this.jobs.splice(0)) {
      if (job.pid !== undefined) killGroup(job.pid, 'SIGKILL');
      job.stderr.push(Buffer.from('fanout: the shell running this job died\n'));
      this.owner.finish(job, resultOf(job, 255, null));
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

/** What `job` did, ended with `exitCode` (or killed by `signal`). */
function resultOf(job: Current, exitCode: number, signal: NodeJS.Signals | null): JobResult {
  const started = job.pid !== undefined;
  return {
    exitCode,
    signal,
    started,
    stdout: job.stdout,
    stderr: job.stderr,
    received: job.received,
    start: started ? job.start : Date.now(),
    runtime: started ? performance.now() - job.t0 : 0,
  };
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
   * Keep up to 2 × size jobs in hand: one may wait in a lane behind a young
   * running job, or in fanout for the first lane to finish. Off when jobs
   * have their own time limits, which must not count the wait.
   */
  lookahead: boolean;
  /** After a job fails, each lane waits to hear whether the run goes on (fail-fast runs). */
  pause: boolean;
}

/**
 * The lanes of one run, started as needed up to `size`. A job goes to an
 * idle lane, else a new one; with lookahead, else behind a lane's young
 * running job, else it waits in fanout for the first lane to finish.
 */
export class Lanes {
  private readonly all: Lane[] = [];
  /** Jobs in hand that no lane has yet, first come first served. */
  private readonly held: Current[] = [];
  private inHand = 0;
  /** How long jobs have run on average (a moving average, in ms), and how many ended. */
  private average = 0;
  private ended = 0;

  constructor(private readonly options: LanesOptions) {}

  /** How many jobs may be in hand at once: one per lane, two with lookahead. */
  get capacity(): number {
    return this.options.lookahead ? 2 * this.options.size : this.options.size;
  }

  /** Jobs in hand that fanout holds, no lane having room for them yet. */
  get holding(): number {
    return this.held.length;
  }

  /**
   * Runs the shell command `line` on a lane; resolves like runJob.
   * At most `capacity` jobs may be in hand at once.
   */
  run(line: string, options: JobOptions): Promise<JobResult> {
    if (options.signal.aborted) return Promise.resolve(notStarted());
    // The lane reads NUL-ended lines: a NUL inside would end this job early
    // and run the rest of the line as a job of its own.
    if (line.includes('\0')) return Promise.resolve(refused(NUL_REFUSED));
    if (this.inHand >= this.capacity) {
      throw new Error(`fanout: more jobs in hand than ${this.options.size} lanes take`);
    }
    this.inHand++;
    return new Promise((resolve) => {
      const job: Current = {
        line,
        options,
        resolve,
        lane: undefined,
        n: 0,
        stdout: [],
        stderr: [],
        received: 0,
        start: 0,
        t0: 0,
        pid: undefined,
        status: undefined,
        recalled: false,
        marks: 0,
        sent: undefined,
        killTimer: undefined,
        unlisten: noop,
      };
      job.unlisten = listen(options.signal, () => this.cancel(job));
      const lane = this.pick();
      if (lane) lane.take(job);
      else this.held.push(job);
    });
  }

  /** An idle lane, else a new one, else (with lookahead) one whose running job is young. */
  private pick(): Lane | undefined {
    const all = this.all;
    for (let i = all.length - 1; i >= 0; i--) if (all[i]!.dead) all.splice(i, 1);
    for (const lane of all) if (lane.jobs.length === 0) return lane;
    if (all.length < this.options.size) {
      const lane = new Lane(this, this.options.pause);
      all.push(lane);
      return lane;
    }
    if (!this.options.lookahead || this.ended < this.options.size) return undefined;
    const now = performance.now();
    for (const lane of all) if (lane.canQueue(now, this.average)) return lane;
    return undefined;
  }

  private cancel(job: Current): void {
    if (job.lane) {
      job.lane.kill(job, 'SIGTERM');
      return;
    }
    this.held.splice(this.held.indexOf(job), 1);
    this.finish(job, notStarted());
  }

  /** Settles `job` with `r`, and hands held jobs to lanes with room. */
  finish(job: Current, r: JobResult): void {
    job.unlisten();
    if (job.killTimer !== undefined) clearTimeout(job.killTimer);
    this.inHand--;
    if (r.started) {
      this.ended++;
      this.average += (r.runtime - this.average) / Math.min(this.ended, 16);
    }
    job.resolve(r);
    while (this.held.length > 0) {
      const lane = this.pick();
      if (lane === undefined) break;
      lane.take(this.held.shift()!);
    }
  }

  /** Ends every lane and resolves once they have exited. */
  async close(): Promise<void> {
    await Promise.all(this.all.map((lane) => lane.close()));
  }
}
