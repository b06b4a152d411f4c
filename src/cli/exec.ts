// `fanout exec`: a command per argument, GNU parallel style, on fanOut.

import { availableParallelism } from 'node:os';
import { TimeoutError } from '../errors.ts';
import { Context, compilePolicy, runAttempts } from '../internal/attempt.ts';
import type { TaskContext } from '../task.ts';
import { drive } from './internal/drive.ts';
import { interrupts } from './internal/interrupt.ts';
import { type JobResult, runJob } from './internal/job.ts';
import { JobLog } from './internal/joblog.ts';
import { Lanes, lanesAvailable } from './internal/lanes.ts';
import { LineReader } from './internal/lines.ts';
import { Output } from './internal/output.ts';
import { progress, wantProgress } from './internal/progress.ts';
import { Reorder, startWhen } from './internal/reorder.ts';
import { Template } from './internal/template.ts';
import { startTracing } from './internal/trace.ts';
import { failedExitCode, UsageError } from './internal/usage.ts';

/** The options of `fanout exec`, as parsed from its flags. */
export interface ExecOptions {
  /** Jobs at once (default: the number of cores). */
  jobs?: number;
  /** Run every job even after one failed (default: stop at the first failure). */
  keepGoing?: boolean;
  /** Print each job's output as soon as it finishes, not in input order. */
  unordered?: boolean;
  /** Print output lines as they come, mixing jobs (whole lines only). */
  lineBuffer?: boolean;
  /** Time limit of each attempt in ms. */
  timeout?: number;
  /** Tries after the first for a failing job (default 0). */
  retries?: number;
  /** Write a GNU parallel joblog here. */
  joblog?: string;
  /** Print the commands instead of running them. */
  dryRun?: boolean;
  /** false: run the command without a shell (`--no-shell`). */
  shell?: boolean;
  /** ms between SIGTERM and SIGKILL when stopping a job (default 2000). */
  grace?: number;
  /** See wantProgress. */
  progress?: boolean;
  /** Write the run's spans to this file. */
  trace?: string;
}

/** A job that exited non-zero (or was killed): carries what it did. */
class JobFailed extends Error {
  constructor(readonly result: JobResult) {
    super(result.signal ? `killed by ${result.signal}` : `exit code ${result.exitCode}`);
  }
}

/**
 * exec runs `words` (a command, optionally followed by `:::` and its
 * arguments; else one argument per line of stdin) once per argument and
 * resolves with the exit code: the number of failed jobs, capped at 101
 * (130/143 after SIGINT/SIGTERM, 141 when stdout closed). The first failure
 * stops the other jobs unless `keepGoing`.
 *
 * @throws UsageError for bad arguments or an unwritable joblog.
 * @example
 * ```ts
 * const code = await exec(['gzip', '-k', '{}', ':::', 'a.log', 'b.log'], { jobs: 2 })
 * ```
 */
export async function exec(words: string[], options: ExecOptions): Promise<number> {
  const sep = words.indexOf(':::');
  const command = sep === -1 ? words : words.slice(0, sep);
  const listed = sep === -1 ? undefined : words.slice(sep + 1);
  if (listed?.includes(':::')) {
    throw new UsageError(
      'only one ::: list of arguments is supported',
      'put every argument after the first :::',
    );
  }
  if (listed === undefined && process.stdin.isTTY) {
    throw new UsageError(
      'no arguments: give them after ::: or one per line on stdin',
      "for example: fanout exec 'gzip -k {}' ::: a.log b.log",
    );
  }
  const useShell = options.shell ?? true;
  const jobs = options.jobs ?? availableParallelism();
  const keepGoing = options.keepGoing ?? false;
  // Lookahead (jobs in hand beyond those running, waiting in a lane or in
  // Lanes) is off with --timeout, whose clock must not run while a job waits.
  const lookahead = options.timeout === undefined;
  const lanes =
    useShell && lanesAvailable()
      ? new Lanes({ size: jobs, lookahead, pause: lookahead && !keepGoing })
      : undefined;
  const template = new Template(command, useShell, lanes === undefined);
  const source = listed ?? new LineReader(process.stdin);
  const stop = interrupts();
  const out = new Output(process.stdout, stop.outputClosed);

  if (options.dryRun) {
    let seq = 0;
    for await (const arg of listed ?? (source as LineReader)) {
      seq++;
      out.write(`${template.display(arg, seq)}\n`);
    }
    await out.end();
    stop.dispose();
    return stop.exitCode() ?? 0;
  }

  const grace = options.grace ?? 2000;
  const policy = compilePolicy('fanout exec', {
    timeout: options.timeout,
    retry: options.retries ? { attempts: options.retries + 1, backoff: 0 } : undefined,
  });
  const joblog = options.joblog === undefined ? undefined : new JobLog(options.joblog);
  if (joblog) {
    await joblog.opened().catch((err: Error) => {
      throw new UsageError(`cannot write the joblog: ${err.message}`);
    });
  }
  const err = new Output(process.stderr, stop.outputClosed);
  const bar = await progress(wantProgress(options.progress), listed?.length);
  const tracing = await startTracing(options.trace);

  const print = (r: JobResult) => {
    for (const b of r.stdout) out.write(b);
    if (r.stderr.length > 0) {
      // In order on a terminal that shows both: this job's stdout, its
      // stderr, then the next job's output.
      out.flush();
      for (const b of r.stderr) err.write(b);
      err.flush();
    }
  };
  const ordered = !options.unordered && !options.lineBuffer;
  const concurrency = lanes?.capacity ?? jobs;
  const reorder = ordered
    ? new Reorder<JobResult>(Math.max(1024, 2 * concurrency), print)
    : undefined;
  let failed = 0;
  let firstFailure: string | undefined;

  const job = async (arg: string, index: number, ctx: TaskContext): Promise<void> => {
    const turn = startWhen(reorder, out, index, ctx.signal);
    if (turn) await turn;
    const seq = index + 1;
    const inv = template.invocation(arg, seq);
    const lines = options.lineBuffer ? new LineSplitter(out, err) : undefined;
    let last: JobResult | undefined;
    // Counted as running once its first attempt starts, not while it waits in a lane.
    let started = false;
    const onStart = () => {
      if (started) return;
      started = true;
      bar.start();
    };
    const attempt = async (_: string, actx: TaskContext): Promise<JobResult> => {
      const jobOptions = { signal: actx.signal, grace, onData: lines?.onData, onStart };
      const r =
        lanes && inv.shell ? await lanes.run(inv.line, jobOptions) : await runJob(inv, jobOptions);
      last = r;
      if (r.started) joblog?.record(seq, template.display(arg, seq), r);
      if (r.exitCode !== 0) throw new JobFailed(r);
      return r;
    };
    let error: unknown;
    try {
      if (policy) await runAttempts(attempt, arg, index, ctx.signal, policy);
      else await attempt(arg, new Context(ctx.signal, index, 1));
    } catch (e) {
      error = e;
    }
    lines?.end();
    const result = last!;
    // A job stopped because the run is stopping did not fail on its own.
    if (error !== undefined && ctx.signal.aborted && !(error instanceof TimeoutError)) {
      bar.done(false, started);
      throw error;
    }
    bar.done(error !== undefined, started);
    if (reorder) reorder.put(index, result);
    else if (!lines) print(result);
    if (error === undefined) return;
    failed++;
    const why =
      error instanceof TimeoutError ? `timed out after ${error.ms} ms` : (error as Error).message;
    if (!keepGoing) {
      firstFailure ??= `job ${seq} failed (${why}): ${template.display(arg, seq)}`;
      throw error;
    }
  };

  try {
    await tracing.span('fanout exec', () =>
      drive(source, job, {
        concurrency,
        signal: stop.signal,
        name: 'fanout.exec.job',
      }),
    );
  } catch (e) {
    if (!(e instanceof JobFailed || e instanceof TimeoutError) && stop.exitCode() === undefined)
      throw e;
  } finally {
    stop.dispose();
    reorder?.flushAll();
    bar.stop();
    await Promise.all([out.end(), err.end(), joblog?.close(), tracing.shutdown(), lanes?.close()]);
  }
  if (firstFailure) {
    process.stderr.write(
      `fanout exec: ${firstFailure}\nfanout exec: stopped the other jobs; use --keep-going to run them all\n`,
    );
  }
  const interrupted = stop.exitCode();
  if (interrupted !== undefined) return interrupted;
  return failedExitCode(failed);
}

/** `--line-buffer`: passes whole lines through as they come; the rest at the end. */
class LineSplitter {
  private readonly partial: [Buffer[], Buffer[]] = [[], []];

  constructor(
    private readonly out: Output,
    private readonly err: Output,
  ) {}

  readonly onData = (stream: 1 | 2, chunk: Buffer): void => {
    const nl = chunk.lastIndexOf(10);
    const held = this.partial[stream - 1];
    if (nl === -1) {
      held.push(chunk);
      return;
    }
    const target = stream === 1 ? this.out : this.err;
    // Lines reach a terminal that shows both streams in the order they came.
    (stream === 1 ? this.err : this.out).flush();
    for (const b of held) target.write(b);
    held.length = 0;
    target.write(chunk.subarray(0, nl + 1));
    if (nl + 1 < chunk.length) held.push(chunk.subarray(nl + 1));
  };

  end(): void {
    for (const b of this.partial[0]) this.out.write(b);
    for (const b of this.partial[1]) this.err.write(b);
    this.partial[0].length = 0;
    this.partial[1].length = 0;
  }
}
