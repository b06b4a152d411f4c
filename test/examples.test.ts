// Every program in examples/ is part of the test run: each must run with no
// arguments, exit 0 and print something.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const dir = new URL('../examples/', import.meta.url);
const examples = readdirSync(dir).filter((f) => f.endsWith('.ts'));

describe('examples', () => {
  it('has the seed example', () => {
    assert.ok(examples.includes('seed.ts'));
  });

  for (const file of examples) {
    it(`${file} runs to completion and prints what happened`, async () => {
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', new URL(file, dir).pathname],
        {
          timeout: 60_000,
        },
      );
      assert.ok(stdout.trim().length > 0);
    });
  }

  it('seed.ts shows the success, the fail-fast and the parent-abort runs', async () => {
    const { stdout } = await run(process.execPath, [
      '--import',
      'tsx',
      new URL('seed.ts', dir).pathname,
    ]);
    assert.match(stdout, /8 results, in task order/);
    assert.match(
      stdout,
      /rejected: task 2 failed; \d of 8 started, [1-9]\d* running siblings cancelled/,
    );
    assert.match(stdout, /3\. the parent is cancelled.*\n {2}rejected: /);
  });
});
