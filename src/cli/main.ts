#!/usr/bin/env node
// The `fanout` command: parses arguments with commander and hands each
// subcommand to its own module. Exit codes: 0 all went well; 1-100 that
// many tasks or jobs failed, 101 more than 100; 130/143 interrupted by
// SIGINT/SIGTERM; 255 the run could not start or broke down.

import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import { colours, paint, RED, YELLOW } from './internal/style.ts';
import { EXIT_ERROR, parseCount, parseDuration, parseJobs, UsageError } from './internal/usage.ts';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

function program(): Command {
  const root = new Command('fanout')
    .description(
      'Run work in parallel; the first failure stops the rest, output keeps input order.',
    )
    .version(version, '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      outputError: (text, write) => write(paint(colours(process.stderr), RED, text)),
    });

  const common = (cmd: Command) =>
    cmd
      .option('--keep-going', 'run every task even after failures (default: stop at the first)')
      .option(
        '--timeout <duration>',
        'time limit of each attempt: 30 (seconds), 500ms, 2s, 1m',
        parseDuration,
      )
      .option('--retries <n>', 'retry a failed task up to n more times', parseCount)
      .option('--progress', 'show the progress bar on stderr even when stdout is a terminal')
      .option('--no-progress', 'never show the progress bar')
      .option('--trace <file>', 'write the spans of the run to <file> as JSON lines');

  const runCmd = root
    .command('run')
    .description('run a module export on each JSON line of the input; write one JSON result a line')
    .argument('<task>', 'module and export, e.g. ./tasks.js#resize (default export without #name)')
    .option('-i, --input <file>', 'read tasks from <file> instead of stdin')
    .option(
      '-j, --jobs <n>',
      'tasks at once (default 64; 2 x threads; 256 with --redis)',
      parseJobs,
    )
    .option('--unordered', 'write results as they finish, not in input order')
    .option('--threads <n>', 'run the tasks on <n> worker threads', parseJobs)
    .option('--redis <url>', 'run the tasks on fanout workers at this Redis (redis://host:6379)')
    .option('--queue <name>', 'the queue the workers serve (with --redis)')
    .option('--prefix <prefix>', "the Redis key prefix the workers use (default 'fanout')");
  common(runCmd)
    .addHelpText(
      'after',
      `
Each input line is one JSON value, passed to the export as (input, { signal, index, attempt }).
Failures stop the run unless --keep-going, which writes {"index":N,"error":{...}} lines instead.

Examples:
  fanout run ./tasks.js#resize < inputs.jsonl > results.jsonl
  fanout run ./tasks.js#resize --input inputs.jsonl -j 16 --keep-going --timeout 30s
  fanout run ./tasks.js#hash --threads 4 < files.jsonl
  fanout run ./tasks.js#resize --redis redis://127.0.0.1:6379 --queue images < inputs.jsonl`,
    )
    .action(async (task: string, opts) => {
      const { run } = await import('./run.ts');
      exitWith(await run(task, opts));
    });

  const execCmd = root
    .command('exec')
    .description('run a command once per argument, GNU parallel style')
    .argument(
      '[command...]',
      'the command, then ::: and the arguments (or one argument per stdin line)',
    )
    .option(
      '-j, --jobs <n>',
      'jobs at once (default: the number of cores; N% of the cores)',
      parseJobs,
    )
    .option('--unordered', "print each job's output when it finishes, not in input order")
    .option('--line-buffer', 'print output lines as they come, mixing jobs')
    .option('--joblog <file>', "write GNU parallel's joblog to <file>")
    .option('--dry-run', 'print the commands without running them')
    .option('--no-shell', 'run the command directly, without a shell')
    .addOption(
      new Option(
        '--grace <duration>',
        'wait this long after SIGTERM before SIGKILL when stopping a job',
      )
        .argParser(parseDuration)
        .default(2000, '2s'),
    )
    .passThroughOptions();
  common(execCmd)
    .addHelpText(
      'after',
      `
Replacement strings: {} the argument, {.} without extension, {/} basename, {//} dirname,
{/.} basename without extension, {#} the job number. With none, the argument is appended.
Arguments are quoted for the shell: they are data, never code. Put fanout's options before the
command. The first failing job stops the others (SIGTERM to its process group, SIGKILL after
--grace) unless --keep-going. Exit code: the number of failed jobs (101 for more than 100).

Examples:
  fanout exec -j 8 'gzip -k {}' ::: a.log b.log c.log
  ls *.png | fanout exec convert {} {.}.jpg
  fanout exec --keep-going --joblog jobs.tsv --timeout 1m ./test.sh {} ::: unit e2e lint
  fanout exec --dry-run 'mv {} {//}/old-{/}' ::: dir/a dir/b`,
    )
    .action(async (words: string[], opts) => {
      const { exec } = await import('./exec.ts');
      exitWith(await exec(words, opts));
    });

  root
    .command('worker')
    .description("serve a module's exports to `fanout run --redis` and bullmqExecutor callers")
    .argument('<module>', 'the task module, e.g. ./tasks.js')
    .requiredOption('--redis <url>', 'the Redis to take jobs from (redis://host:6379)')
    .requiredOption('--queue <name>', 'the queue to serve')
    .option('--prefix <prefix>', "the Redis key prefix (default 'fanout')")
    .option('-c, --concurrency <n>', 'jobs at once in this process (default 1)', parseJobs)
    .addOption(
      new Option(
        '--grace <duration>',
        'after SIGTERM, let active jobs finish this long, then hand them back',
      )
        .argParser(parseDuration)
        .default(10_000, '10s'),
    )
    .addHelpText(
      'after',
      `
Every function the module exports is a task callers can name. On SIGTERM or SIGINT the
worker stops taking jobs, lets active ones finish for --grace, hands the rest back to the
queue for another worker, and exits 0.

Example:
  fanout worker ./tasks.js --redis redis://10.0.0.5:6379 --queue images -c 8`,
    )
    .action(async (module: string, opts) => {
      const { worker } = await import('./worker.ts');
      exitWith(await worker(module, opts));
    });

  root.addHelpText(
    'after',
    `
Examples:
  fanout exec -j 8 'gzip -k {}' ::: a.log b.log
  fanout run ./tasks.js#resize < inputs.jsonl > results.jsonl
  fanout worker ./tasks.js --redis redis://127.0.0.1:6379 --queue images

Exit code: 0 all succeeded; 1-100 that many failed (101: more); 255 could not run.
Run fanout <command> --help for the options of each.`,
  );
  return root;
}

let exitCode: number | undefined;
function exitWith(code: number): void {
  exitCode = code;
}

function report(err: unknown): number {
  const colour = colours(process.stderr);
  if (err instanceof UsageError) {
    process.stderr.write(`${paint(colour, RED, 'fanout: error:')} ${err.message}\n`);
    if (err.hint) process.stderr.write(`${paint(colour, YELLOW, 'fanout: hint:')} ${err.hint}\n`);
    return err.exitCode;
  }
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`${paint(colour, RED, 'fanout: error:')} ${text}\n`);
  return EXIT_ERROR;
}

async function main(): Promise<number> {
  try {
    await program().parseAsync(process.argv);
    return exitCode ?? 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version are "errors" that exit 0; the rest was already printed.
      return err.exitCode === 0 ? 0 : EXIT_ERROR;
    }
    return report(err);
  }
}

// Exit explicitly: stdin may still be open after a run stopped early.
main().then((code) => process.exit(code));

// Nothing left to wait for, yet the run has not ended: a promise that can no
// longer settle. Say so and fail, rather than exit 0 as if all went well.
process.once('beforeExit', () => {
  process.stderr.write('fanout: error: the run stopped with work unfinished (a bug in fanout)\n');
  process.exit(EXIT_ERROR);
});
