import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runNode } from '../fixtures/node-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const program = fileURLToPath(new URL('../fixtures/threads-program.ts', import.meta.url));

describe('threadPool lifecycle', () => {
  it('lets the process exit on its own after close()', async () => {
    const r = await runNode(['--import', 'tsx', program, 'close']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[ 2, 3, 4 \]/);
  });

  it('starts threads when the program runs with flags a worker refuses', async () => {
    const r = await runNode([
      '--expose-gc',
      '--title=fanout-test',
      '--import',
      'tsx',
      program,
      'close',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[ 2, 3, 4 \]/);
  });

  it('does not keep the process alive while idle, even without close()', async () => {
    const r = await runNode(['--import', 'tsx', program, 'idle']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\[ 2, 3, 4 \]/);
  });

  it('leaves no thread running after a failed fanOut', async () => {
    const r = await runNode(['--import', 'tsx', program, 'failed']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rejected: first/);
  });

  it('ends its threads when an await using scope is left', async () => {
    const r = await runNode(['--import', 'tsx', program, 'dispose']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^2$/m);
  });

  describe('compiled to JavaScript', () => {
    const out = mkdtempSync(join(tmpdir(), 'fanout-threads-'));
    after(() => rmSync(out, { recursive: true, force: true }));

    it('runs a JavaScript task module without tsx', async () => {
      const tsc = await runNode(
        [
          join(root, 'node_modules/typescript/bin/tsc'),
          '-p',
          'tsconfig.build.json',
          '--outDir',
          out,
        ],
        { timeout: 120_000 },
      );
      assert.ok(tsc.code !== null, 'tsc finished');
      const script = [
        `const { threadPool } = await import(${JSON.stringify(join(out, 'threads/index.js'))});`,
        `const pool = threadPool({ module: ${JSON.stringify(join(root, 'test/fixtures/threads-tasks.mjs'))}, size: 2 });`,
        `console.log(await Promise.all([1, 2, 3].map((x) => pool.task('double')(x))));`,
        'await pool.close();',
      ].join('\n');
      const r = await runNode(['--input-type=module', '-e', script]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\[ 2, 4, 6 \]/);
    });
  });
});
