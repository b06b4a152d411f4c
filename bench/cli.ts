// The `fanout` command against the tools people would use instead:
//   exec: `fanout exec -j 2 true ::: 1..1000` vs GNU parallel and `xargs -P 2`
//   run:  `fanout run` over 1e5 tiny JSON tasks vs a hand-written readline + fanOut loop
// Each case runs its command three times in a child process and reports the
// median wall time and the child's peak RSS (through /usr/bin/time when present).
// Targets: exec at least GNU parallel's jobs/s and within 1.5x of xargs;
// run within 1.3x of the hand-written loop. Needs `npm run build` first.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caseArg, fmt, isolated, machine, report, table } from './lib.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const MAIN = join(root, 'dist/cli/main.js');
const TASKS = join(root, 'test/fixtures/cli-tasks.mjs');
const INDEX = join(root, 'dist/index.js');
const JOBS = 1000;
const TASK_COUNT = 100_000;
const REPEATS = 3;

const HAND_LOOP = `
import { createInterface } from 'node:readline';
import { fanOut } from '${INDEX}';
import { inc } from '${TASKS}';
const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
await fanOut(rl, async (line, ctx) => {
  const result = await inc(JSON.parse(line), ctx);
  process.stdout.write(JSON.stringify(result) + '\\n');
}, { concurrency: 64, ordered: false });
`;

const seq = Array.from({ length: JOBS }, (_, i) => String(i + 1));

/** Each case: the command line to run, and where its stdin comes from. */
const cases: Record<
  string,
  { kind: 'exec' | 'run'; argv: () => string[] | undefined; input?: 'tasks' | 'seq' }
> = {
  'exec: fanout exec -j 2': {
    kind: 'exec',
    argv: () => [process.execPath, MAIN, 'exec', '-j', '2', 'true', ':::', ...seq],
  },
  'exec: xargs -P 2': {
    kind: 'exec',
    argv: () => ['xargs', '-P', '2', '-n', '1', 'true'],
    input: 'seq',
  },
  'exec: GNU parallel -j 2': {
    kind: 'exec',
    argv: () => (which('parallel') ? ['parallel', '-j', '2', 'true', ':::', ...seq] : undefined),
  },
  'run: fanout run (ordered)': {
    kind: 'run',
    argv: () => [process.execPath, MAIN, 'run', '-j', '64', `${TASKS}#inc`],
    input: 'tasks',
  },
  'run: fanout run --unordered': {
    kind: 'run',
    argv: () => [process.execPath, MAIN, 'run', '-j', '64', '--unordered', `${TASKS}#inc`],
    input: 'tasks',
  },
  'run: hand-written readline + fanOut': {
    kind: 'run',
    argv: () => [process.execPath, '--input-type=module', '-e', HAND_LOOP],
    input: 'tasks',
  },
};

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

function runCase(name: string): void {
  const c = cases[name]!;
  const argv = c.argv();
  if (argv === undefined) {
    report({ name, skipped: 'not installed (Debian: apt-get install parallel)' });
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'fanout-bench-'));
  try {
    const inputFile = join(dir, 'input');
    if (c.input === 'tasks') {
      writeFileSync(inputFile, Array.from({ length: TASK_COUNT }, (_, i) => `${i}\n`).join(''));
    } else if (c.input === 'seq') {
      writeFileSync(inputFile, `${seq.join('\n')}\n`);
    } else {
      writeFileSync(inputFile, '');
    }
    const timeFile = join(dir, 'time');
    const timed = existsSync('/usr/bin/time');
    const times: number[] = [];
    let rss = 0;
    for (let i = 0; i < REPEATS; i++) {
      const full = timed ? ['/usr/bin/time', '-o', timeFile, '-f', '%M', ...argv] : argv;
      const t0 = process.hrtime.bigint();
      const r = spawnSync(full[0]!, full.slice(1), {
        stdio: [openInput(inputFile), 'ignore', 'pipe'],
        maxBuffer: 2 ** 26,
      });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`${name} failed (${r.status}): ${r.stderr}`);
      if (timed) {
        const kb = Number(spawnSync('tail', ['-n1', timeFile], { encoding: 'utf8' }).stdout.trim());
        rss = Math.max(rss, kb / 1024);
      }
    }
    times.sort((a, b) => a - b);
    const ms = times[Math.floor(REPEATS / 2)]!;
    const n = c.kind === 'exec' ? JOBS : TASK_COUNT;
    report({ name, kind: c.kind, ms, perSecond: (n / ms) * 1000, rssMb: rss, all: times });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A fresh descriptor for each run: spawnSync reads stdin from it. */
function openInput(path: string): number {
  return openSync(path, 'r');
}

const wanted = caseArg();
if (wanted !== undefined) {
  runCase(wanted);
} else {
  if (!existsSync(MAIN)) {
    console.log('(skipped: dist/cli/main.js is missing; run `npm run build` first)');
  } else {
    console.log(`${machine()}; median of ${REPEATS} runs each\n`);
    const results = Object.keys(cases).map((name) =>
      isolated(fileURLToPath(import.meta.url), [name]),
    );
    const rows: (string | number)[][] = [];
    for (const kind of ['exec', 'run'] as const) {
      const group = results.filter((r) => (r.kind ?? cases[r.name as string]!.kind) === kind);
      const floor = Math.min(...group.filter((r) => r.ms !== undefined).map((r) => r.ms as number));
      for (const r of group) {
        if (r.skipped) {
          rows.push([r.name as string, '-', '-', '-', '-', `skipped: ${r.skipped}`]);
          continue;
        }
        const ms = r.ms as number;
        rows.push([
          r.name as string,
          fmt(ms),
          fmt(r.perSecond as number),
          `${fmt(ms / floor, 2)}x`,
          fmt(r.rssMb as number, 1),
          (r.all as number[]).map((t) => fmt(t)).join(' / '),
        ]);
      }
    }
    console.log(
      table(
        ['case', 'ms (median)', 'jobs or tasks/s', 'vs fastest', 'peak RSS MB', 'runs ms'],
        rows,
      ),
    );
  }
}
