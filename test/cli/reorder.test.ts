import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Reorder } from '../../src/cli/internal/reorder.ts';

const never = new AbortController().signal;

describe('Reorder', () => {
  it('emits every value in index order, whatever order they arrive in', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 60 }),
        fc.infiniteStream(fc.nat()),
        (window, n, picks) => {
          const out: number[] = [];
          const r = new Reorder<number>(window, (v, i) => {
            assert.equal(v, i);
            out.push(v);
          });
          // Values arrive in a random order that never runs past the window.
          const waiting = new Set<number>();
          let next = 0;
          const it = picks[Symbol.iterator]();
          while (out.length < n) {
            while (next < n && next < r.next + window) waiting.add(next++);
            const ready = [...waiting];
            const pick = ready[it.next().value % ready.length]!;
            waiting.delete(pick);
            assert.equal(r.room(pick, never), undefined);
            r.put(pick, pick);
          }
          assert.deepEqual(
            out,
            Array.from({ length: n }, (_, i) => i),
          );
        },
      ),
    );
  });

  it('holds an index past the window back until the window moves', async () => {
    const out: string[] = [];
    const r = new Reorder<string>(2, (v) => out.push(v));
    r.put(1, 'b');
    const wait = r.room(2, never);
    assert.ok(wait, 'index 2 must wait while 0 is missing');
    let released = false;
    void wait.then(() => (released = true));
    await Promise.resolve();
    assert.equal(released, false);
    r.put(0, 'a');
    await wait;
    assert.deepEqual(out, ['a', 'b']);
  });

  it('lets a waiting index go when the run stops, and leaves no listener', async () => {
    const r = new Reorder<string>(2, () => {});
    const stop = new AbortController();
    const wait = r.room(2, stop.signal);
    assert.ok(wait);
    assert.equal(getEventListeners(stop.signal, 'abort').length, 1);
    stop.abort();
    await wait; // would never settle: index 0 is never put
    assert.equal(getEventListeners(stop.signal, 'abort').length, 0);
    assert.equal(r.room(3, stop.signal), undefined, 'an aborted run waits for nothing');
  });

  it('flushes what it holds, in order, skipping the gaps', () => {
    const out: string[] = [];
    const r = new Reorder<string>(4, (v) => out.push(v));
    r.put(3, 'd');
    r.put(1, 'b');
    r.flushAll();
    assert.deepEqual(out, ['b', 'd']);
  });
});
