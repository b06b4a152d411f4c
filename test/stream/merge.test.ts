import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Channel, merge } from '../../src/index.ts';
import { sleep, source } from '../fixtures/stream.ts';

/** An endless source whose return() fails with `error`. */
function failsToClose(error: Error): AsyncIterable<number> {
  let i = 0;
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => sleep(1).then(() => ({ value: i++, done: false })),
      return: () => Promise.reject(error),
    }),
  };
}

function suppressedOf(err: unknown): unknown[] | undefined {
  return (err as { suppressed?: unknown[] }).suppressed;
}

describe('merge', () => {
  it('gives every item of every source, each source in its own order', async () => {
    const a = source(50);
    const ch = new Channel<number>();
    void (async () => {
      for (let i = 100; i < 120; i++) await ch.send(i);
      ch.close();
    })();
    const out = await merge<number>(a.iterable, [200, 201, 202], ch).toArray();
    assert.equal(out.length, 73);
    const pick = (lo: number, hi: number) => out.filter((x) => x >= lo && x < hi);
    assert.deepEqual(
      pick(0, 50),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.deepEqual(
      pick(100, 120),
      Array.from({ length: 20 }, (_, i) => 100 + i),
    );
    assert.deepEqual(pick(200, 300), [200, 201, 202]);
  });

  it('interleaves sources as their items arrive', async () => {
    const out = await merge(source(3, 30).iterable, [7]).toArray();
    assert.equal(out[0], 7);
  });

  it('ends at once with no source', async () => {
    assert.deepEqual(await merge().toArray(), []);
  });

  it('closes every source before break returns', async () => {
    const a = source(Number.POSITIVE_INFINITY);
    const b = source(Number.POSITIVE_INFINITY, 1);
    let n = 0;
    for await (const _ of merge(a.iterable, b.iterable)) if (++n === 10) break;
    assert.equal(a.state.finished, true);
    assert.equal(b.state.finished, true);
  });

  it('holds at most one item per source ahead of the consumer', async () => {
    const a = source(Number.POSITIVE_INFINITY);
    const b = source(Number.POSITIVE_INFINITY);
    let n = 0;
    for await (const _ of merge(a.iterable, b.iterable)) {
      n++;
      await sleep(1);
      assert.ok(a.state.pulled + b.state.pulled <= n + 2);
      if (n === 20) break;
    }
  });

  it('fails with a source’s error and closes the others', async () => {
    const boom = new Error('boom');
    async function* bad() {
      yield 1;
      await sleep(5);
      throw boom;
    }
    const other = source(Number.POSITIVE_INFINITY, 1);
    await assert.rejects(merge<number>(bad(), other.iterable).drain(), (err) => err === boom);
    assert.equal(other.state.finished, true);
  });

  it('makes break throw the first error raised while closing the sources, the others in its suppressed', async () => {
    const first = new Error('first');
    const second = new Error('second');
    const loop = async () => {
      for await (const _ of merge(failsToClose(first), failsToClose(second))) break;
    };
    await assert.rejects(loop(), (err) => {
      assert.equal(err, first);
      assert.equal(suppressedOf(err)?.length, 1);
      assert.equal(suppressedOf(err)?.[0], second);
      return true;
    });
  });

  it('keeps every error raised while closing the other sources in a source error’s suppressed', async () => {
    const boom = new Error('boom');
    const first = new Error('first');
    const second = new Error('second');
    async function* bad() {
      yield -1;
      await sleep(5);
      throw boom;
    }
    await assert.rejects(
      merge<number>(bad(), failsToClose(first), failsToClose(second)).drain(),
      (err) => {
        assert.equal(err, boom);
        assert.equal(suppressedOf(err)?.length, 2);
        assert.equal(suppressedOf(err)?.[0], first);
        assert.equal(suppressedOf(err)?.[1], second);
        return true;
      },
    );
  });

  it('chains stages like any pipeline', async () => {
    const out = await merge([1, 2], [3])
      .map((x) => x * 2)
      .toArray();
    assert.deepEqual(
      out.sort((x, y) => x - y),
      [2, 4, 6],
    );
  });

  it('throws a TypeError naming a source that is not iterable', () => {
    assert.throws(() => merge([1], 5 as never), /merge: sources\[1\] must be an Iterable/);
  });
});
