import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alive, eventually, fanout, MAIN } from '../fixtures/cli-spawn.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fanout-exec-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** The pids a test's jobs wrote into `dir/<prefix>*.pid`. */
function pids(prefix: string): number[] {
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.pid'))
    .map((f) => Number(readFileSync(join(dir, f), 'utf8').trim()));
}

describe('exec', () => {
  it('expands every replacement string', async () => {
    const r = await fanout([
      'exec',
      '-j',
      '2',
      'echo',
      '[{}]',
      '[{.}]',
      '[{/}]',
      '[{//}]',
      '[{/.}]',
      '[{#}]',
      ':::',
      'dir.d/sub/file.tar.gz',
      'plain',
      '.hidden',
      'dir.d/noext',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      '[dir.d/sub/file.tar.gz] [dir.d/sub/file.tar] [file.tar.gz] [dir.d/sub] [file.tar] [1]',
      '[plain] [plain] [plain] [.] [plain] [2]',
      '[.hidden] [.hidden] [.hidden] [.] [.hidden] [3]',
      '[dir.d/noext] [dir.d/noext] [noext] [dir.d] [noext] [4]',
    ]);
  });

  it("gives echo the shell's meaning, backslash escapes and all, with either launcher", async () => {
    const r = await fanout(['exec', 'echo', ':::', 'a\\tb']);
    // dash's echo turns \t into a tab; whatever this machine's /bin/sh does, the same.
    const sh = spawnSync('/bin/sh', ['-c', "echo 'a\\tb'"], { encoding: 'utf8' });
    assert.equal(r.stdout, sh.stdout);
  });

  it('refuses an argument with a NUL byte, which no command line can carry, and runs none of it', async () => {
    const r = await fanout(['exec', '--keep-going', 'echo', '{}'], {
      input: 'a\nx\0echo INJECTED #\nb\n',
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'a\nb\n');
    assert.match(r.stderr, /NUL byte/);
  });

  it('appends the argument when the command has no replacement string', async () => {
    const r = await fanout(['exec', 'echo', 'arg:', ':::', 'a', 'b']);
    assert.equal(r.stdout, 'arg: a\narg: b\n');
  });

  it('takes one argument per stdin line without :::', async () => {
    const r = await fanout(['exec', 'echo', '{}', 'x'], { input: 'one\ntwo  words\n\nthree\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'one x\ntwo  words x\nthree x\n');
  });

  it('runs each argument as a command line when no command is given', async () => {
    const r = await fanout(['exec', ':::', 'echo a', 'echo b | tr b c']);
    assert.equal(r.stdout, 'a\nc\n');
  });

  it('prints each job whole and in input order by default', async () => {
    const r = await fanout([
      'exec',
      '-j',
      '3',
      'echo start {}; sleep {}; echo end {}',
      ':::',
      '0.6',
      '0.1',
      '0.3',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'start 0.6\nend 0.6\nstart 0.1\nend 0.1\nstart 0.3\nend 0.3\n');
  });

  it('prints each job whole as it finishes with --unordered', async () => {
    const r = await fanout([
      'exec',
      '-j',
      '3',
      '--unordered',
      'echo start {}; sleep {}; echo end {}',
      ':::',
      '1.2',
      '0.1',
      '0.6',
    ]);
    assert.equal(r.stdout, 'start 0.1\nend 0.1\nstart 0.6\nend 0.6\nstart 1.2\nend 1.2\n');
  });

  it('passes lines through as they come with --line-buffer', async () => {
    const r = await fanout([
      'exec',
      '-j',
      '2',
      '--line-buffer',
      'sh',
      '-c',
      '{}',
      ':::',
      'echo a1; sleep 1.2; echo a2',
      'sleep 0.4; echo b1',
    ]);
    assert.equal(r.stdout, 'a1\nb1\na2\n');
  });

  it('keeps stdout and stderr of a job apart', async () => {
    const r = await fanout(['exec', 'echo out {}; echo err {} >&2', ':::', 'x']);
    assert.equal(r.stdout, 'out x\n');
    assert.equal(r.stderr, 'err x\n');
  });

  it('treats hostile arguments as data, never as code', async () => {
    const hostile = [
      `$(touch ${dir}/pwned1)`,
      `a; touch ${dir}/pwned2`,
      `\`touch ${dir}/pwned3\``,
      "it's",
      '"double" \\ back',
      '*',
      '~',
      'x > y',
      'FOO=bar',
      '-n',
    ];
    // Command words are shell code, as in GNU parallel; only arguments are quoted.
    const r = await fanout(['exec', '-j', '4', 'printf "%s\\n" {}', ':::', ...hostile]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').slice(0, -1), hostile);
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('pwned')),
      [],
    );
    // The same through separate command words.
    const line = await fanout(['exec', 'echo', '{}', ':::', ...hostile.slice(0, 3)]);
    assert.deepEqual(line.stdout.split('\n').slice(0, -1), hostile.slice(0, 3));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('pwned')),
      [],
    );
  });

  it('runs without a shell with --no-shell', async () => {
    const r = await fanout(['exec', '--no-shell', 'printf', '%s|', '$HOME', '{}', ':::', 'a b']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '$HOME|a b|');
  });

  it('prints the commands and runs nothing with --dry-run', async () => {
    const r = await fanout(['exec', '--dry-run', `touch ${dir}/dry-{}`, ':::', 'a', 'b c', "d'e"]);
    assert.equal(r.code, 0);
    assert.equal(
      r.stdout,
      `touch ${dir}/dry-a\ntouch ${dir}/dry-'b c'\ntouch ${dir}/dry-'d'\\''e'\n`,
    );
    assert.equal(existsSync(join(dir, 'dry-a')), false);
  });

  it('exits with the number of failed jobs, capped at 101', async () => {
    const r = await fanout(['exec', '--keep-going', 'exit', '{}', ':::', '0', '1', '2', '0', '3']);
    assert.equal(r.code, 3);
    const many = await fanout([
      'exec',
      '--keep-going',
      '-j',
      '4',
      'false',
      ':::',
      ...Array.from({ length: 102 }, (_, i) => String(i)),
    ]);
    assert.equal(many.code, 101);
  });

  it('stops the running jobs at the first failure and kills their process groups', async () => {
    const log = join(dir, 'ff.tsv');
    const r = await fanout([
      'exec',
      '-j',
      '3',
      '--grace',
      '300ms',
      '--joblog',
      log,
      // The stubborn job and its sleep ignore SIGTERM: only the SIGKILL after --grace ends them.
      // The failing job fails once the other two run (as their pid files show; a
      // busy machine may take a while to start them), or after 30 s if they never do.
      `if [ {} = fail ]; then i=0; until [ -s ${dir}/ff-calm.pid ] && [ -s ${dir}/ff-stubborn.pid ] || [ $i = 600 ]; ` +
        `do sleep 0.05; i=$((i+1)); done; exit 7; fi; if [ {} = stubborn ]; then trap '' TERM; fi; ` +
        `sleep 60 & echo $! > ${dir}/ff-{}.pid; wait`,
      ':::',
      'fail',
      'calm',
      'stubborn',
      'never',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /job 1 failed \(exit code 7\)/);
    assert.match(r.stderr, /--keep-going/);
    assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
    const started = pids('ff-');
    assert.equal(started.length, 2, 'the job after the failure never started');
    assert.ok(await eventually(() => started.every((pid) => !alive(pid))), 'sleeps still alive');
    // The joblog has the failure, and the two jobs stopped by a signal: TERM, and KILL for the stubborn one.
    const rows = readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t'));
    const bySeq = new Map(rows.map((row) => [row[0], row]));
    assert.deepEqual(bySeq.get('1')!.slice(6, 8), ['7', '0']);
    assert.deepEqual(bySeq.get('2')!.slice(6, 8), ['-1', '15']);
    assert.deepEqual(bySeq.get('3')!.slice(6, 8), ['-1', '9']);
    assert.equal(bySeq.has('4'), false);
  });

  it('stops, and does not hang, when jobs wait for room behind a slow first job', async () => {
    // Job 1 holds the output window; jobs past it (1025 on) wait for room.
    // Job 2 fails once job 1024 ran: the stop must release the waiting jobs.
    const last = join(dir, 'room-last');
    const r = await fanout(
      [
        'exec',
        '-j',
        '3',
        `if [ {} = 1 ]; then sleep 60; elif [ {} = 2 ]; then i=0; ` +
          `until [ -e ${last} ] || [ $i = 1200 ]; do sleep 0.05; i=$((i+1)); done; exit 3; ` +
          `elif [ {} = 1024 ]; then touch ${last}; fi`,
        ':::',
        ...Array.from({ length: 1100 }, (_, i) => String(i + 1)),
      ],
      { timeout: 90_000 },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /job 2 failed \(exit code 3\)/);
  });

  it('runs every job after failures with --keep-going', async () => {
    const r = await fanout([
      'exec',
      '--keep-going',
      '-j',
      '1',
      'echo {}; test {} != b',
      ':::',
      'a',
      'b',
      'c',
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, 'a\nb\nc\n');
  });

  it('kills a job that exceeds --timeout and counts it as failed', async () => {
    const r = await fanout([
      'exec',
      '--timeout',
      '200ms',
      '--keep-going',
      'sleep',
      ':::',
      '30',
      '0',
    ]);
    assert.equal(r.code, 1);
    assert.ok(r.ms < 15_000, `took ${r.ms} ms`);
  });

  it('retries a failing job with --retries', async () => {
    const marker = join(dir, 'retry-marker');
    const cmd = `if [ -e ${marker}{} ]; then echo ok; else touch ${marker}{}; exit 1; fi`;
    const r = await fanout(['exec', '--retries', '1', cmd, ':::', 'x']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'ok\n');
  });

  it("writes GNU parallel's joblog", async () => {
    const log = join(dir, 'joblog.tsv');
    const r = await fanout([
      'exec',
      '--keep-going',
      '--joblog',
      log,
      'echo {}; exit {}',
      ':::',
      '0',
      '3',
    ]);
    assert.equal(r.code, 1);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    assert.equal(
      lines[0],
      'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand',
    );
    const rows = lines
      .slice(1)
      .map((l) => l.split('\t'))
      .sort((a, b) => Number(a[0]) - Number(b[0]));
    assert.equal(rows.length, 2);
    for (const [i, row] of rows.entries()) {
      assert.equal(row.length, 9);
      assert.equal(row[0], String(i + 1));
      assert.equal(row[1], ':');
      assert.match(row[2]!, /^\d{10}\.\d{3}$/);
      assert.match(row[3]!, /^ *\d+\.\d{3}$/);
      assert.equal(row[5], '2'); // "0\n" or "3\n"
      assert.equal(row[7], '0');
    }
    assert.equal(rows[0]![6], '0');
    assert.equal(rows[1]![6], '3');
    assert.equal(rows[1]![8], 'echo 3; exit 3');
  });

  it('reports a command that does not exist as exit code 127', async () => {
    const log = join(dir, 'missing.tsv');
    const r = await fanout(['exec', '--joblog', log, 'no-such-command-xyz', ':::', 'a']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no-such-command-xyz.*not found/);
    assert.match(readFileSync(log, 'utf8'), /\t127\t0\t/);
  });

  it('stops every job and exits 143 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [MAIN, 'exec', '-j', '2', `sleep 60 & echo $! > ${dir}/term-{}.pid; wait`, ':::', 'a', 'b'],
      { stdio: 'ignore' },
    );
    assert.ok(await eventually(() => pids('term-').length === 2), 'jobs did not start');
    const started = pids('term-');
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 143);
    assert.ok(await eventually(() => started.every((pid) => !alive(pid))), 'sleeps still alive');
  });

  it('stops quietly with exit code 141 when its output is closed', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        // 100 jobs of 0.1 s each: the closed pipe must stop the run long before they are done.
        `'${process.execPath}' '${MAIN}' exec -j 2 'sleep 0.1; seq 1 10000; : {}' ::: $(seq 100) | head -1; echo "status \${PIPESTATUS[0]}"`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.stdout, '1\nstatus 141\n');
    assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  });

  it('refuses to read arguments from a terminal, and unknown options', async () => {
    const r = await fanout(['exec', '--frobnicate', 'echo', ':::', 'a']);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /unknown option '--frobnicate'/);
    const j = await fanout(['exec', '-j', '0', 'echo', ':::', 'a']);
    assert.equal(j.code, 255);
    assert.match(j.stderr, /-j, --jobs.*got "0"/);
  });

  it('keeps the option-like words of the command for the command', async () => {
    const r = await fanout(['exec', 'ls', '-d', '{}', ':::', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${dir}\n`);
  });
});
