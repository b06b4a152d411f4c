import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { TaskModuleError } from '../../src/errors.ts';
import { loadTaskModule, moduleUrl, noTaskError } from '../../src/internal/task-module.ts';
import { tempDir } from '../fixtures/temp-dir.ts';

const { path: tmp, write } = tempDir('fanout-task-module-');

describe('moduleUrl', () => {
  it('takes URLs and URL strings as they are, and paths against the working directory', () => {
    const url = new URL('file:///srv/tasks.js');
    assert.equal(moduleUrl(url), url.href);
    assert.equal(moduleUrl('file:///srv/tasks.js'), 'file:///srv/tasks.js');
    assert.equal(moduleUrl('data:text/javascript,export{}'), 'data:text/javascript,export{}');
    assert.equal(moduleUrl('/srv/tasks.js'), pathToFileURL('/srv/tasks.js').href);
    assert.equal(moduleUrl('./tasks.js'), pathToFileURL(resolve('tasks.js')).href);
  });

  it('reads a one-letter scheme as a Windows drive, not a URL', () => {
    assert.equal(moduleUrl('c:tasks.js'), pathToFileURL(resolve('c:tasks.js')).href);
  });
});

describe('loadTaskModule', () => {
  it('finds the function exports of an ES module, default included', async () => {
    const path = write(
      'esm.mjs',
      'export const n = 1;\nexport function double(x) { return 2 * x }\nexport default (x) => x;\n',
    );
    const mod = await loadTaskModule(path);
    assert.equal(mod.url, pathToFileURL(path).href);
    assert.deepEqual([...mod.tasks.keys()].sort(), ['default', 'double']);
    assert.equal(mod.exports.n, 1);
  });

  it('finds the functions of a CommonJS module.exports object that Node cannot name', async () => {
    // Node finds no named exports in this source: only `default` holds them.
    const path = write(
      'object.cjs',
      'const t = { n: 1 };\nt.square = (x) => x * x;\nt.half = (x) => x / 2;\nmodule.exports = t;\n',
    );
    const mod = await loadTaskModule(pathToFileURL(path));
    assert.deepEqual([...mod.tasks.keys()].sort(), ['half', 'square']);
    assert.equal((mod.tasks.get('square') as (x: number) => number)(3), 9);
    assert.equal(mod.exports.n, 1);
  });

  it('takes a CommonJS module.exports function as the default task', async () => {
    const path = write('function.cjs', 'module.exports = function (x) { return x + 1 };\n');
    const mod = await loadTaskModule(path);
    assert.deepEqual([...mod.tasks.keys()], ['default']);
  });

  it('skips the "module.exports" name newer Node versions give a CommonJS default', async () => {
    // What Node 23 makes of `module.exports = function`, written as an ES module.
    const path = write(
      'marker.mjs',
      'const f = (x) => x;\nexport { f as default, f as "module.exports" };\n',
    );
    const mod = await loadTaskModule(path);
    assert.deepEqual([...mod.tasks.keys()], ['default']);
  });

  it('prefers a named export to a member of the default object', async () => {
    const path = write(
      'both.mjs',
      'export const pick = () => "named";\nexport default { pick: () => "default", other: () => 1 };\n',
    );
    const mod = await loadTaskModule(path);
    assert.equal((mod.tasks.get('pick') as () => string)(), 'named');
    assert.ok(mod.tasks.has('other'));
  });

  it('rejects with a TaskModuleError holding the import error when a module is missing', async () => {
    const path = join(tmp(), 'missing.mjs');
    await assert.rejects(loadTaskModule(path), (err: unknown) => {
      assert.ok(err instanceof TaskModuleError);
      assert.equal(err.module, pathToFileURL(path).href);
      assert.match(err.message, /^cannot load the task module file:.*missing\.mjs: /);
      assert.equal((err.cause as { code?: string }).code, 'ERR_MODULE_NOT_FOUND');
      return true;
    });
  });

  it('rejects with a TaskModuleError holding what a module threw while loading', async () => {
    const path = write('throws.mjs', 'throw new RangeError("no luck");\n');
    await assert.rejects(loadTaskModule(path), (err: unknown) => {
      assert.ok(err instanceof TaskModuleError);
      assert.match(err.message, /throws\.mjs: no luck$/);
      assert.ok(err.cause instanceof RangeError);
      return true;
    });
  });
});

describe('noTaskError', () => {
  it('names the module, the export and the functions there are', () => {
    const err = noTaskError('file:///t.js', 'resize', ['crop', 'blur'], 'threadPool');
    assert.ok(err instanceof TaskModuleError);
    assert.equal(
      err.message,
      'threadPool: the task module file:///t.js has no function export "resize"; its functions are: crop, blur',
    );
    assert.deepEqual([err.module, err.task], ['file:///t.js', 'resize']);
    assert.match(noTaskError('file:///t.js', 'x', []).message, /; it exports no functions$/);
  });
});
