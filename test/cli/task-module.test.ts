import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadTask, parseSpec } from '../../src/cli/internal/task-module.ts';
import { UsageError } from '../../src/cli/internal/usage.ts';
import { tempDir } from '../fixtures/temp-dir.ts';

const { path: tmp, write } = tempDir('fanout-cli-module-');

/** The UsageError `promise` rejects with. */
async function usageError(promise: Promise<unknown>): Promise<UsageError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err;
  }
  assert.fail('it did not reject');
}

describe('task module specs', () => {
  it('parses a path against the working directory, a file URL and the export after #', () => {
    assert.deepEqual(parseSpec('./tasks.js#resize'), {
      spec: './tasks.js#resize',
      url: pathToFileURL(resolve('tasks.js')),
      name: 'resize',
    });
    assert.equal(parseSpec('file:///srv/tasks.js').url.href, 'file:///srv/tasks.js');
    assert.equal(parseSpec('file:///srv/tasks.js').name, 'default');
    assert.throws(() => parseSpec('./tasks.js#'), /does not name a task/);
  });

  it('runs the functions of a CommonJS module.exports object, as --threads does', async () => {
    // Node finds no named exports in this source: only `default` holds them.
    const path = write(
      'object.cjs',
      'const t = {};\nt.square = (x) => x * x;\nmodule.exports = t;\n',
    );
    const square = await loadTask(parseSpec(`${path}#square`));
    assert.equal(await square(4, undefined as never), 16);
    const noName = await usageError(loadTask(parseSpec(path)));
    assert.match(noName.message, /export "default" is an object, not a function/);
    assert.match(noName.hint ?? '', /its functions are: square; name one after #/);
  });

  it('runs a CommonJS module.exports function when the spec names no export', async () => {
    const path = write('function.cjs', 'module.exports = (x) => x + 1;\n');
    const fn = await loadTask(parseSpec(path));
    assert.equal(await fn(1, undefined as never), 2);
  });

  it('says which functions a module has when the export is missing or not a function', async () => {
    const path = write(
      'esm.mjs',
      'export const n = 1;\nexport function double(x) { return 2 * x }\n',
    );
    const missing = await usageError(loadTask(parseSpec(`${path}#nope`)));
    assert.equal(missing.message, `${path} has no export named "nope"`);
    assert.match(missing.hint ?? '', /its functions are: double/);
    const number = await usageError(loadTask(parseSpec(`${path}#n`)));
    assert.equal(number.message, `${path}: export "n" is a number, not a function`);
  });

  it('says a module is missing by its path, also when the path has a space', async () => {
    mkdirSync(join(tmp(), 'a b'));
    const path = join(tmp(), 'a b', 'nope.mjs');
    const err = await usageError(loadTask(parseSpec(`${path}#x`)));
    assert.equal(err.message, `cannot find the task module ${path}`);
  });

  it('passes on why a module that exists does not load', async () => {
    const path = write('throws.mjs', 'throw new Error("no luck");\n');
    const err = await usageError(loadTask(parseSpec(`${path}#x`)));
    assert.equal(err.message, `cannot load the task module ${path}: no luck`);
  });
});
