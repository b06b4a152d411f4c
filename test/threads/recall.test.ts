// Jobs taken back from a thread before it started them (an abort, or a
// steal) must never leave the pool with work to do and no thread keeping the
// process alive: an idle thread is unref'd, so a task still waiting then
// would stay pending and the process would exit under it.
//
// Each case runs in a process of its own, with nothing else keeping it
// alive: there, such a hang shows as an exit with code 13 (an unsettled
// top-level await), which a timer or another test in this process would hide.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Outcome, runNode } from '../fixtures/node-process.ts';

const index = new URL('../../src/threads/index.ts', import.meta.url).href;
const tasks = new URL('../fixtures/threads-tasks.ts', import.meta.url).href;

function run(body: string[], timeout = 20_000): Promise<Outcome> {
  const script = [
    `import { threadPool } from ${JSON.stringify(index)};`,
    `const tasks = ${JSON.stringify(tasks)};`,
    ...body,
  ].join('\n');
  return runNode(['--import', 'tsx', '--input-type=module', '-e', script], { timeout });
}

describe('threadPool: jobs recalled from a thread', () => {
  it('runs the tasks queued behind them when an abort empties every thread', async () => {
    // Before the first results a thread takes 4 tasks: the fifth waits in
    // the pool's queue. The thread is still starting when the signal aborts,
    // so all 4 are recalled and the thread holds nothing: the fifth must go
    // to it then, not only once the thread reports the recalled slots.
    const r = await run([
      'const pool = threadPool({ module: tasks, size: 1 });',
      'const controller = new AbortController();',
      'const { signal } = controller;',
      "const held = [1, 2, 3, 4].map((x) => pool.task('inc')(x, { signal }).catch((e) => e.message));",
      "const queued = pool.task('inc')(10);",
      'await null; // the first 4 go to the thread',
      'await null;',
      "controller.abort(new Error('stop'));",
      'console.log(JSON.stringify([await Promise.all(held), await queued]));',
      'await pool.close();',
    ]);
    assert.equal(r.code, 0, `exit code ${r.code}: ${r.stderr}`);
    assert.match(r.stdout, /^\[\["stop","stop","stop","stop"\],11\]$/m);
  });

  it('lets the process exit once a recalled task the module lacks is reported', async () => {
    // A task sent before the thread knew its exports, recalled before the
    // thread got to it: the thread reports the slot as recalled (not as a
    // missing export), so the pool frees it and lets the thread go idle.
    const r = await run([
      'const pool = threadPool({ module: tasks, size: 1 });',
      'const controller = new AbortController();',
      "const p = pool.task('noSuchTask')(1, { signal: controller.signal }).catch((e) => e.message);",
      'await null;',
      'await null;',
      "controller.abort(new Error('stop'));",
      'console.log(await p);',
      "console.log(await pool.task('inc')(1));",
      '// no close(): an idle pool must not keep the process alive',
    ]);
    assert.equal(r.code, 0, `exit code ${r.code}: ${r.stderr}`);
    assert.match(r.stdout, /^stop\n2$/m);
  });
});
