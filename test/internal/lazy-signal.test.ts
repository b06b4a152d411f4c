import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LazySignal } from '../../src/internal/lazy-signal.ts';

describe('LazySignal', () => {
  it('makes one signal, on the first read', () => {
    let made = 0;
    class Counted extends LazySignal {
      protected override made(): void {
        made++;
      }
    }
    const s = new Counted();
    assert.equal(made, 0);
    const signal = s.signal;
    assert.equal(s.signal, signal);
    assert.equal(made, 1);
    assert.equal(signal.aborted, false);
  });

  it('aborts a signal already read with the reason', () => {
    const s = new LazySignal();
    const signal = s.signal;
    const seen: unknown[] = [];
    signal.addEventListener('abort', () => seen.push(signal.reason));
    const reason = new Error('stop');
    s.abort(reason);
    assert.deepEqual(seen, [reason]);
    assert.equal(s.aborted, true);
    assert.equal(s.reason, reason);
  });

  it('makes a signal read after the abort already aborted, and the first reason wins', () => {
    const s = new LazySignal();
    const first = new Error('first');
    s.abort(first);
    s.abort(new Error('second'));
    assert.equal(s.aborted, true);
    assert.equal(s.reason, first);
    assert.equal(s.signal.aborted, true);
    assert.equal(s.signal.reason, first);
  });

  it('lets a subclass adjust the signal before it is aborted', () => {
    class Tagged extends LazySignal {
      protected override made(signal: AbortSignal): void {
        assert.equal(signal.aborted, false);
        Object.defineProperty(signal, 'tag', { value: 'mine' });
      }
    }
    const s = new Tagged();
    s.abort('why');
    assert.equal((s.signal as AbortSignal & { tag: string }).tag, 'mine');
    assert.equal(s.signal.reason, 'why');
  });
});
