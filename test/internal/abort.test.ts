import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError } from '../../src/errors.ts';
import { cancelledByCaller, isEcho } from '../../src/internal/abort.ts';

describe('cancelledByCaller', () => {
  it('returns a new CancelledError that says the caller cancelled', () => {
    const a = cancelledByCaller();
    const b = cancelledByCaller();
    assert.ok(a instanceof CancelledError);
    assert.equal(a.code, 'ERR_FANOUT_CANCELLED');
    assert.equal(a.message, 'cancelled by the caller');
    assert.equal(a.cause, undefined);
    assert.notEqual(a, b);
  });

  it('is echoed by a task that throws it back', () => {
    const reason = cancelledByCaller();
    assert.equal(isEcho(reason, reason), true);
    assert.equal(isEcho(cancelledByCaller(), reason), false);
  });
});
