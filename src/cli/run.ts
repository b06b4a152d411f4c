// `fanout run`: one JSON task per line through a module's export, on fanOut.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { TimeoutError } from '../errors.ts';
import { Context, compilePolicy, runAttempts } from '../internal/attempt.ts';
import type { TaskContext, TaskFn } from '../task.ts';
import { drive } from './internal/drive.ts';
import { bullmqExecutor, type Executor, threadExecutor } from './internal/executors.ts';
import { interrupts } from './internal/interrupt.ts';
import { LineReader } from './internal/lines.ts';
import { Output } from './internal/output.ts';
import { progress, wantProgress } from './internal/progress.ts';
import { Reorder, startWhen } from './internal/reorder.ts';
import { loadTask, parseSpec } from './internal/task-module.ts';
import { startTracing } from './internal/trace.ts';
import { describe, failedExitCode, UsageError } from './internal/usage.ts';

/** The options of `fanout run`, as parsed from its flags. */
export interface RunOptions {
  /** Read tasks from this file instead of stdin. */
  input?: string;
  /** Tasks at once (default 64 on the event loop, twice the threads with --threads, 256 with --redis). */
  jobs?: number;
  /** Run on this many worker threads. */
  threads?: number;
  /** Run on the workers that serve `queue` at this Redis. */
  redis?: string;
  queue?: string;
  /** The Redis key prefix of the workers. */
  prefix?: string;
  /** Write failures as error lines and run every task. */
  keepGoing?: boolean;
  /** Write results as they come, not in input order. */
  unordered?: boolean;
  /** Time limit of each attempt in ms. */
  timeout?: number;
  /** Tries after the first for a failing task (default 0). */
  retries?: number;
  /** See wantProgress. */
  progress?: boolean;
  /** Write the run's spans to this file. */
  trace?: string;
}

/** A line that is not JSON: the task it stands for fails with this. */
class MalformedLine extends SyntaxError {
  override name = 'MalformedLine';
  constructor(line: number, cause: unknown) {
    super(`input line ${line} is not JSON: ${(cause as Error).message}`, { cause });
  }
}

/** The non-blank lines of the input parsed as JSON, a MalformedLine for each that is not. */
class JsonLines implements AsyncIterator<unknown> {
  constructor(private readonly lines: LineReader) {}

  async next(): Promise<IteratorResult<unknown>> {
    const r = await this.lines.next();
    if (r.done) return r;
    try {
      return { value: JSON.parse(r.value), done: false };
    } catch (err) {
      return { value: new MalformedLine(this.lines.lineNumber, err), done: false };
    }
  }

  return(): Promise<IteratorResult<unknown>> {
    return this.lines.return();
  }
}

/**
 * run feeds every JSON line of the input to the task `target` names
 * (`./tasks.js#resize`) and writes one JSON result per line; resolves with
 * the exit code, the number of failed tasks capped at 101 (130/143 after
 * SIGINT/SIGTERM, 141 when stdout closed). The first failure stops the run
 * unless `keepGoing`.
 *
 * @throws UsageError for a missing module or export, an unreadable input, or an unreachable Redis.
 * @example
 * ```ts
 * const code = await run('./tasks.js#resize', { input: 'inputs.jsonl', jobs: 16 })
 * ```
 */
export async function run(target: string, options: RunOptions): Promise<number> {
  const spec = parseSpec(target);
  if ((options.redis === undefined) !== (options.queue === undefined)) {
    throw new UsageError(
      '--redis and --queue go together',
      'give both: --redis redis://host:6379 --queue images',
    );
  }
  if (options.threads !== undefined && options.redis !== undefined) {
    throw new UsageError(
      '--threads and --redis cannot be combined',
      'pick one place to run the tasks',
    );
  }
  const executor: Executor | undefined =
    options.threads !== undefined
      ? await threadExecutor(spec, options.threads)
      : options.redis !== undefined
        ? await bullmqExecutor(spec, options.redis, options.queue!, options.prefix)
        : undefined;
  try {
    const task = executor?.task ?? (await loadTask(spec));
    const input = await openInput(options.input);
    const jobs =
      options.jobs ??
      (options.threads !== undefined
        ? 2 * options.threads
        : options.redis !== undefined
          ? 256
          : 64);
    return await feed(task, input, jobs, options);
  } finally {
    await executor?.close();
  }
}

async function openInput(path: string | undefined): Promise<Readable> {
  if (path === undefined || path === '-') {
    if (process.stdin.isTTY) {
      process.stderr.write(
        'fanout run: reading tasks from the terminal, one JSON value a line; end with Ctrl-D\n',
      );
    }
    return process.stdin;
  }
  const stream = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('ready', () => resolve());
    stream.once('error', (err) =>
      reject(
        new UsageError(
          `cannot read --input ${path}: ${err.message}`,
          'give the path of a JSONL file',
        ),
      ),
    );
  });
  return stream;
}

async function feed(
  fn: TaskFn<unknown, unknown>,
  input: Readable,
  jobs: number,
  options: RunOptions,
): Promise<number> {
  const keepGoing = options.keepGoing ?? false;
  const policy = compilePolicy('fanout run', {
    timeout: options.timeout,
    retry: options.retries ? { attempts: options.retries + 1 } : undefined,
  });
  const stop = interrupts();
  const out = new Output(process.stdout, stop.outputClosed);
  const write = (line: string) => out.write(line);
  const reorder = options.unordered
    ? undefined
    : new Reorder<string>(Math.max(1024, 2 * jobs), write);
  const emit = reorder
    ? (index: number, line: string) => reorder.put(index, line)
    : (_: number, line: string) => write(line);
  const bar = await progress(wantProgress(options.progress), undefined);
  const tracing = await startTracing(options.trace);

  let failed = 0;
  let firstFailure: { index: number; error: unknown } | undefined;

  const task = async (value: unknown, index: number, ctx: TaskContext): Promise<void> => {
    const turn = startWhen(reorder, out, index, ctx.signal);
    if (turn) await turn;
    bar.start();
    let line: string;
    try {
      if (value instanceof MalformedLine) throw value;
      const result = policy
        ? await runAttempts(fn, value, index, ctx.signal, policy)
        : await fn(value, new Context(ctx.signal, index, 1));
      line = `${JSON.stringify(result) ?? 'null'}\n`;
    } catch (error) {
      // A task stopped because the run is stopping did not fail on its own.
      if (ctx.signal.aborted && !(error instanceof TimeoutError)) {
        bar.done(false);
        throw error;
      }
      failed++;
      bar.done(true);
      if (!keepGoing) {
        firstFailure ??= { index, error };
        throw error;
      }
      emit(index, `${JSON.stringify({ index, error: serialise(error) })}\n`);
      return;
    }
    bar.done(false);
    emit(index, line);
  };

  const lines = new LineReader(input);
  try {
    await tracing.span('fanout run', () =>
      drive(new JsonLines(lines), task, {
        concurrency: jobs,
        signal: stop.signal,
        name: 'fanout.run.task',
      }),
    );
  } catch (err) {
    if (firstFailure === undefined && stop.exitCode() === undefined) throw err;
  } finally {
    stop.dispose();
    bar.stop();
    await Promise.all([out.end(), tracing.shutdown()]);
  }
  if (firstFailure) {
    const { index, error } = firstFailure;
    const detail = error instanceof MalformedLine ? error.message : describeTask(error);
    process.stderr.write(
      `fanout run: task ${index} failed: ${detail}\n` +
        'fanout run: stopped; the results written before it are complete lines, in input order ' +
        'up to the failed task (use --keep-going to run every task and write error lines)\n',
    );
  }
  const interrupted = stop.exitCode();
  if (interrupted !== undefined) return interrupted;
  return failedExitCode(failed);
}

/** The task's error with its stack, which the person debugging the task wants. */
function describeTask(error: unknown): string {
  if (error instanceof TimeoutError) return error.message;
  if (error instanceof Error && error.stack) return error.stack;
  return describe(error);
}

/** What an error line holds: name, message, and code when the error has one. */
function serialise(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const e: Record<string, unknown> = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (code !== undefined) e.code = code;
  return e;
}
