// The `fanout` command against the tools people would use instead:
//   exec: `fanout exec -j 2 true ::: 1..1000` vs GNU parallel and `xargs -P 2`
//   run:  `fanout run` over 1e5 tiny JSON tasks vs a hand-written readline + fanOut loop
// The cases take turns, round after round (the load on a shared machine
// drifts, and this spreads it over every case alike); each run is a fresh
// process. Reported: the median wall time, and the command's CPU time (user +
// sys) and peak RSS through /usr/bin/time when present.
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
const ROUNDS = 5;

// What one child_process.spawn per job costs: a bare loop, two at a time, output piped and dropped.
const SPAWN_LOOP = `
import { spawn } from 'node:child_process';
let next = 0;
const one = () => new Promise((resolve) => {
  const c = spawn('true', [String(++next)], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  c.stdout.resume(); c.stderr.resume();
  c.on('close', resolve);
});
const lane = async () => { while (next < ${JOBS}) await one(); };
await Promise.all([lane(), lane()]);
`;

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
  {
    kind: 'exec' | 'run';
    argv: () => string[] | undefined;
    input?: 'tasks' | 'seq';
    env?: Record<string, string>;
  }
> = {
  'exec: fanout exec -j 2': {
    kind: 'exec',
    argv: () => [process.execPath, MAIN, 'exec', '-j', '2', 'true', ':::', ...seq],
  },
  // --timeout turns lookahead off: a job waits for its lane's word (see lanes.ts).
  'exec: fanout exec -j 2 --timeout 60000 (no lookahead)': {
    kind: 'exec',
    argv: () => [
      process.execPath,
      MAIN,
      'exec',
      '-j',
      '2',
      '--timeout',
      '60000',
      'true',
      ':::',
      ...seq,
    ],
  },
  'exec: fanout exec -j 2, spawn per job (no bash)': {
    kind: 'exec',
    argv: () => [process.execPath, MAIN, 'exec', '-j', '2', 'true', ':::', ...seq],
    env: { FANOUT_EXEC_LAUNCHER: 'spawn' },
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
  'exec: node, bare loop of one spawn per job': {
    kind: 'exec',
    argv: () => [process.execPath, '--input-type=module', '-e', SPAWN_LOOP],
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
    const full = timed ? ['/usr/bin/time', '-o', timeFile, '-f', '%U %S %M', ...argv] : argv;
    const t0 = process.hrtime.bigint();
    const r = spawnSync(full[0]!, full.slice(1), {
      stdio: [openInput(inputFile), 'ignore', 'pipe'],
      env: { ...process.env, ...c.env },
      maxBuffer: 2 ** 26,
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${name} failed (${r.status}): ${r.stderr}`);
    let cpuMs: number | undefined;
    let rssMb: number | undefined;
    if (timed) {
      const last = spawnSync('tail', ['-n1', timeFile], { encoding: 'utf8' }).stdout.trim();
      const [user, sys, kb] = last.split(' ').map(Number);
      cpuMs = (user! + sys!) * 1000;
      rssMb = kb! / 1024;
    }
    report({ name, kind: c.kind, ms, cpuMs, rssMb });
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
    console.log(`${machine()}; median of ${ROUNDS} rounds, cases in turn\n`);
    const names = Object.keys(cases);
    const runs = new Map<string, Record<string, unknown>[]>(names.map((n) => [n, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of names)
        runs.get(name)!.push(isolated(fileURLToPath(import.meta.url), [name]));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rows: (string | number)[][] = [];
    for (const kind of ['exec', 'run'] as const) {
      const group = names.filter((n) => cases[n]!.kind === kind);
      const ms = new Map(
        group
          .filter((n) => !runs.get(n)![0]!.skipped)
          .map((n) => [n, median(runs.get(n)!.map((r) => r.ms as number))]),
      );
      const floor = Math.min(...ms.values());
      for (const name of group) {
        const rs = runs.get(name)!;
        if (rs[0]!.skipped) {
          rows.push([name, '-', '-', '-', '-', '-', `skipped: ${rs[0]!.skipped}`]);
          continue;
        }
        const m = ms.get(name)!;
        const n = kind === 'exec' ? JOBS : TASK_COUNT;
        const cpu =
          rs[0]!.cpuMs === undefined ? '-' : fmt(median(rs.map((r) => r.cpuMs as number)));
        const rss =
          rs[0]!.rssMb === undefined ? '-' : fmt(Math.max(...rs.map((r) => r.rssMb as number)), 1);
        rows.push([
          name,
          fmt(m),
          fmt((n / m) * 1000),
          `${fmt(m / floor, 2)}x`,
          cpu,
          rss,
          rs.map((r) => fmt(r.ms as number)).join(' / '),
        ]);
      }
    }
    console.log(
      table(
        [
          'case',
          'wall ms (median)',
          'jobs or tasks/s',
          'vs fastest',
          'CPU ms',
          'peak RSS MB',
          'runs ms',
        ],
        rows,
      ),
    );
  }
}
