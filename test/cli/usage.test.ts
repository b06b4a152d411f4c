import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/cli/internal/usage.ts';

describe('UsageError', () => {
  it('is recognised by instanceof across copies of its module, as the bundled command needs', async () => {
    // A second instance of the module, as `run` and `worker` have next to the bundle.
    const other = (await import(
      `../../src/cli/internal/usage.ts?copy=${Date.now()}`
    )) as typeof import('../../src/cli/internal/usage.ts');
    assert.notEqual(other.UsageError, UsageError, 'a separate copy of the class');
    const err = new other.UsageError('bad flag', 'use another');
    assert.ok(err instanceof UsageError);
    assert.ok(new UsageError('x') instanceof other.UsageError);
    assert.equal(err.hint, 'use another');
  });

  it('is not matched by other errors', () => {
    assert.equal(new Error('x') instanceof UsageError, false);
    assert.equal(
      Object.assign(new Error('x'), { name: 'UsageError' }) instanceof UsageError,
      false,
    );
    assert.equal((null as unknown as object) instanceof UsageError, false);
  });
});
