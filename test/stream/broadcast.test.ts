import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { broadcast } from '../../src/index.ts';
import { sleep, source } from '../fixtures/stream.ts';

/** An endless source whose return() fails with `error`, after `ms`. */
function failsToClose(error: Error, ms = 0): AsyncIterable<number> {
  let i = 0;
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => sleep(1).then(() => ({ value: i++, done: false })),
      return: () => sleep(ms).then(() => Promise.reject(error)),
    }),
  };
}

function suppressedOf(err: unknown): unknown[] | undefined {
  return (err as { suppressed?: unknown[] }).suppressed;
}

describe('broadcast', () => {
  it('gives every consumer every item in order', async () => {
    const [a, b, c] = broadcast(source(100).iterable, 3, { buffer: 4 });
    const [x, y, z] = await Promise.all([
      a!.toArray(),
      b!.map(async (v) => v, { concurrency: 3 }).toArray(),
      c!.toArray(),
    ]);
    const all = Array.from({ length: 100 }, (_, i) => i);
    assert.deepEqual(x, all);
    assert.deepEqual(y, all);
    assert.deepEqual(z, all);
  });

  it('keeps the fastest at most buffer items ahead of the slowest', async () => {
    const src = source(Number.POSITIVE_INFINITY);
    const [fast, slow] = broadcast(src.iterable, 2, { buffer: 5 });
    let slowSeen = 0;
    let maxAhead = 0;
    await Promise.all([
      (async () => {
        for await (const x of fast!) {
          maxAhead = Math.max(maxAhead, x + 1 - slowSeen);
          if (x === 50) break;
        }
      })(),
      (async () => {
        for await (const _ of slow!) {
          slowSeen++;
          await sleep(1);
          if (slowSeen === 60) break;
        }
      })(),
    ]);
    assert.ok(maxAhead <= 5 + 1, `fast ran ${maxAhead} ahead`);
    assert.equal(src.state.finished, true);
  });

  it('lets the others go on when one consumer leaves, and closes the source after the last', async () => {
    const src = source(Number.POSITIVE_INFINITY);
    const [a, b] = broadcast(src.iterable, 2, { buffer: 2 });
    for await (const x of a!) if (x === 1) break;
    assert.equal(src.state.finished, false);
    let n = 0;
    for await (const _ of b!) if (++n === 30) break;
    assert.equal(src.state.finished, true);
  });

  it('gives the source’s error to every consumer, as the same object', async () => {
    const boom = new Error('boom');
    async function* bad() {
      yield 1;
      yield 2;
      throw boom;
    }
    const [a, b] = broadcast(bad(), 2);
    const results = await Promise.allSettled([a!.toArray(), b!.toArray()]);
    for (const r of results) assert.equal(r.status === 'rejected' && r.reason, boom);
  });

  it('fails every consumer with signal.reason and leaves no listener', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const src = source(Number.POSITIVE_INFINITY, 1);
    const [a, b] = broadcast(src.iterable, 2, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 20);
    const results = await Promise.allSettled([a!.drain(), b!.drain()]);
    for (const r of results) assert.equal(r.status === 'rejected' && r.reason, reason);
    assert.equal(src.state.finished, true);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('makes the last consumer’s early exit throw what closing the source raised', async () => {
    const closing = new Error('return failed');
    const [a, b] = broadcast(failsToClose(closing), 2);
    for await (const _ of a!) break; // b still reads: the source stays open
    const last = async () => {
      for await (const _ of b!) break;
    };
    await assert.rejects(last(), (err) => err === closing);
  });

  it('keeps what closing the source raised in the error every consumer gets, by the time each settles', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const closing = new Error('return failed');
    const [a, b] = broadcast(failsToClose(closing, 10), 2, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 10);
    const seen = await Promise.all(
      [a!, b!].map((p) =>
        p.drain().then(
          () => assert.fail('a consumer did not fail'),
          (err) => ({ err, suppressed: suppressedOf(err)?.slice() }),
        ),
      ),
    );
    for (const { err, suppressed } of seen) {
      assert.equal(err, reason);
      assert.equal(suppressed?.length, 1);
      assert.equal(suppressed[0], closing);
    }
  });

  it('starts nothing when the signal is already aborted', async () => {
    const reason = new Error('already');
    const src = source(5);
    const [a] = broadcast(src.iterable, 1, { signal: AbortSignal.abort(reason) });
    await assert.rejects(a!.toArray(), (err) => err === reason);
    assert.equal(src.state.pulled, 0);
  });

  it('leaves no listener on its signal once the source ended', async () => {
    const controller = new AbortController();
    const [a, b] = broadcast([1, 2, 3], 2, { signal: controller.signal });
    await Promise.all([a!.toArray(), b!.toArray()]);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('throws a TypeError or RangeError naming a bad argument', () => {
    assert.throws(() => broadcast([1], 0), /broadcast: n must be an integer of 1 or more, got 0/);
    assert.throws(() => broadcast([1], 2, { buffer: 0 }), RangeError);
    assert.throws(() => broadcast(null as never, 2), TypeError);
  });
});
