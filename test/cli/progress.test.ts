import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fanout, MAIN, TASKS } from '../fixtures/cli-spawn.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fanout-progress-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs a shell command line on a real pseudo-terminal through util-linux's
 * `script`, and returns everything the terminal received.
 */
function onTerminal(line: string, env: Record<string, string | undefined> = {}): string {
  const r = spawnSync('script', ['-qec', line, '/dev/null'], {
    encoding: 'utf8',
    // Node takes a terminal under CI=true for a 2-colour one: a real user's has colour.
    env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: undefined, CI: undefined, ...env },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const ESC = '\u001b';
const node = `'${process.execPath}' '${MAIN}'`;

describe('progress bar', () => {
  it('draws counts, rate and ETA on a terminal when the output is redirected', () => {
    const out = join(dir, 'out1');
    const screen = onTerminal(`${node} exec -j 2 'sleep 0.2; echo {}' ::: 1 2 3 4 > '${out}'`);
    assert.match(screen, /4\/4 done \| 0 failed \| 0 running \| [\d.]+\/s \| ETA \d+s/);
    assert.ok(screen.includes(`${ESC}[32m`), 'the bar is coloured');
  });

  it('has no colour with NO_COLOR set', () => {
    const out = join(dir, 'out2');
    const screen = onTerminal(`${node} exec 'echo {}' ::: 1 2 > '${out}'`, { NO_COLOR: '1' });
    assert.match(screen, /2\/2 done/);
    assert.ok(!screen.includes(`${ESC}[32m`), 'no colour');
  });

  it('counts tasks of unknown total for run', () => {
    const out = join(dir, 'out3');
    const screen = onTerminal(`printf '1\\n2\\n3\\n' | ${node} run '${TASKS}#inc' > '${out}'`);
    assert.match(screen, /3 done \| 0 failed/);
  });

  it('stays off when stdout is the same terminal, unless --progress', () => {
    const plain = onTerminal(`${node} exec 'echo {}' ::: 1 2`);
    assert.doesNotMatch(plain, /done \|/);
    const forced = onTerminal(`${node} exec --progress 'echo {}' ::: 1 2`);
    assert.match(forced, /2\/2 done/);
  });

  it('never draws on a pipe, even with --progress', async () => {
    const r = await fanout(['exec', '--progress', 'echo {}', ':::', '1', '2']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, '1\n2\n');
  });
});
