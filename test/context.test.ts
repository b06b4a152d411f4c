import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { TimeoutError, withCancel, withTimeout } from '../src/index.ts';

const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

describe('withCancel', () => {
  it('aborts with the reason given to cancel, an AbortError by default', () => {
    const a = withCancel();
    a.cancel('why');
    assert.equal(a.signal.reason, 'why');
    const b = withCancel();
    b.cancel();
    assert.equal((b.signal.reason as Error).name, 'AbortError');
  });

  it('follows its parent and takes the parent’s reason', () => {
    const parent = new AbortController();
    const child = withCancel(parent.signal);
    parent.abort('parent reason');
    assert.equal(child.signal.reason, 'parent reason');
  });

  it('is aborted at once when the parent already is', () => {
    const child = withCancel(AbortSignal.abort('early'));
    assert.ok(child.signal.aborted);
    assert.equal(child.signal.reason, 'early');
  });

  it('does not abort the parent when cancelled', () => {
    const parent = new AbortController();
    withCancel(parent.signal).cancel();
    assert.equal(parent.signal.aborted, false);
  });

  it('removes its listener on the parent on cancel, on dispose and when the parent aborts', () => {
    const parent = new AbortController();
    const a = withCancel(parent.signal);
    assert.equal(listeners(parent.signal), 1);
    a.cancel();
    assert.equal(listeners(parent.signal), 0);
    {
      using _b = withCancel(parent.signal);
      assert.equal(listeners(parent.signal), 1);
    }
    assert.equal(listeners(parent.signal), 0);
    withCancel(parent.signal);
    parent.abort();
    assert.equal(listeners(parent.signal), 0);
  });

  it('rejects a parent that is not a signal', () => {
    assert.throws(() => withCancel({} as never), /withCancel: parent must be an AbortSignal/);
  });
});

describe('withTimeout', () => {
  it('aborts with a TimeoutError once the time is up', async () => {
    const t = withTimeout(undefined, 5);
    await new Promise((r) => t.signal.addEventListener('abort', r));
    assert.ok(t.signal.reason instanceof TimeoutError);
    assert.equal((t.signal.reason as TimeoutError).ms, 5);
  });

  it('clears its timer and listener when cancelled or disposed', async () => {
    const parent = new AbortController();
    {
      using t = withTimeout(parent.signal, 5);
      assert.equal(listeners(parent.signal), 1);
      t.cancel('done early');
      assert.equal(t.signal.reason, 'done early');
    }
    assert.equal(listeners(parent.signal), 0);
  });

  it('follows an already aborted parent', () => {
    assert.equal(withTimeout(AbortSignal.abort('x'), 1000).signal.reason, 'x');
  });

  it('rejects a negative or non-number time', () => {
    assert.throws(() => withTimeout(undefined, -1), RangeError);
    assert.throws(() => withTimeout(undefined, '5' as never), TypeError);
  });
});
