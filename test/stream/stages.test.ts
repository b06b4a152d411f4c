import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pipeline } from '../../src/index.ts';
import { failingClose, Probe, sleep, source } from '../fixtures/stream.ts';

describe('filter', () => {
  it('keeps the items whose predicate is truthy, sync or async', async () => {
    assert.deepEqual(
      await pipeline([1, 2, 3, 4])
        .filter((x) => x % 2 === 0)
        .toArray(),
      [2, 4],
    );
    assert.deepEqual(
      await pipeline([1, 2, 3, 4])
        .filter(async (x) => x > 2)
        .toArray(),
      [3, 4],
    );
  });
});

describe('filter and tap', () => {
  it('fail the pipeline with the very error their function threw, sync or async', async () => {
    const boom = new Error('boom');
    for (const p of [
      pipeline([1, 2, 3]).filter((x) => {
        if (x === 2) throw boom;
        return true;
      }),
      pipeline([1, 2, 3]).tap(async (x) => {
        if (x === 2) throw boom;
      }),
    ]) {
      await assert.rejects(p.toArray(), (err) => err === boom);
    }
  });
});

describe('tap', () => {
  it('sees every item with its index and passes it on unchanged', async () => {
    const seen: [string, number][] = [];
    const out = await pipeline(['a', 'b'])
      .tap(async (x, { index }) => {
        seen.push([x, index]);
      })
      .toArray();
    assert.deepEqual(out, ['a', 'b']);
    assert.deepEqual(seen, [
      ['a', 0],
      ['b', 1],
    ]);
  });
});

describe('flatMap', () => {
  it('flattens arrays, sync and async iterables in order', async () => {
    async function* twice(x: number) {
      yield x;
      yield x;
    }
    const out = await pipeline([1, 2, 3])
      .flatMap((x) => (x === 1 ? [x] : x === 2 ? new Set([20, 21]) : twice(x)), {
        concurrency: 2,
      })
      .toArray();
    assert.deepEqual(out, [1, 20, 21, 3, 3]);
  });

  it('closes the iterable being read when the consumer stops early', async () => {
    const inner = source(Number.POSITIVE_INFINITY);
    for await (const x of pipeline([0]).flatMap(() => inner.iterable)) if (x === 2) break;
    assert.equal(inner.state.finished, true);
  });

  it('makes break throw the error of an inner return() that fails at once while a read is under way', async () => {
    const closing = new Error('return failed');
    const inner = failingClose(closing);
    const loop = async () => {
      // The map reads ahead: a slow read of the inner iterable is under way when the loop breaks.
      for await (const x of pipeline([0])
        .flatMap(() => inner)
        .map((x) => x, { concurrency: 2 })) {
        if (x === 0) break;
      }
    };
    await assert.rejects(loop(), (err) => err === closing);
  });

  it('fails with a TypeError when fn returns something not iterable', async () => {
    await assert.rejects(
      pipeline([1])
        .flatMap(() => 5 as never)
        .toArray(),
      /flatMap: the result of fn must be an Iterable/,
    );
  });
});

describe('batch', () => {
  it('groups items by size with a shorter last batch', async () => {
    assert.deepEqual(await pipeline([1, 2, 3, 4, 5]).batch(2).toArray(), [[1, 2], [3, 4], [5]]);
  });

  it('emits a batch that is not full once maxWait passed since its first item', async () => {
    async function* slow() {
      yield 1;
      yield 2;
      await sleep(1_000);
      yield 3;
    }
    const out = await pipeline(slow()).batch(10, { maxWait: 20 }).toArray();
    assert.deepEqual(out, [[1, 2], [3]]);
  });

  it('holds a batch for a maxWait longer than a timer can wait (2 ** 31 ms and more)', async () => {
    async function* slow() {
      yield 1;
      await sleep(200);
      yield 2;
    }
    const out = await pipeline(slow())
      .batch(10, { maxWait: 2 ** 31 })
      .toArray();
    assert.deepEqual(out, [[1, 2]], 'the batch did not leave early');
  });

  it('closes the source when the consumer stops early', async () => {
    const src = source(Number.POSITIVE_INFINITY);
    for await (const b of pipeline(src.iterable).batch(3, { maxWait: 5 })) if (b[0]! >= 3) break;
    assert.equal(src.state.finished, true);
  });
});

describe('rateLimit', () => {
  it('lets at most n items through in any perMs window', async () => {
    const perMs = 50;
    const times: number[] = [];
    const start = performance.now();
    await pipeline(Array.from({ length: 9 }, (_, i) => i))
      .rateLimit(3, perMs)
      .tap(() => {
        times.push(performance.now());
      })
      .drain();
    assert.equal(times.length, 9);
    for (let i = 0; i < times.length; i++) {
      // Exact: item i is let through no sooner than floor(i / 3) windows
      // after the start, and the tap sees it no sooner than that.
      const due = Math.floor(i / 3) * perMs;
      assert.ok(times[i]! - start >= due, `item ${i} after ${times[i]! - start} ms, due at ${due}`);
    }
    for (let i = 3; i < times.length; i++) {
      // The tap sees an item a little after the limiter let it through, and
      // on a busy machine that little can differ between items by a few ms.
      const gap = times[i]! - times[i - 3]!;
      assert.ok(gap >= perMs - 10, `items ${i - 3} and ${i} only ${gap} ms apart`);
    }
  });

  it('holds the next item for a window longer than a timer can wait (2 ** 31 ms)', async () => {
    const it = pipeline([1, 2])
      .rateLimit(1, 2 ** 31)
      [Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 1, done: false });
    const next = it.next();
    const late = await Promise.race([
      next.then(() => 'let through'),
      sleep(200).then(() => 'held'),
    ]);
    assert.equal(late, 'held', 'the second item did not wait for the window');
    await it.return?.();
  });

  it('stops waiting at once when the consumer leaves', async () => {
    const t0 = performance.now();
    for await (const x of pipeline([1, 2, 3]).rateLimit(1, 60_000)) if (x === 1) break;
    assert.ok(performance.now() - t0 < 10_000);
  });
});

describe('through', () => {
  it('runs a Go-style stage written as an async generator', async () => {
    const out = await pipeline([1, 2, 3])
      .through(async function* (input, signal) {
        assert.ok(signal instanceof AbortSignal);
        for await (const x of input) yield x * 10;
      })
      .toArray();
    assert.deepEqual(out, [10, 20, 30]);
  });

  it('closes everything upstream when the stage stops reading, and goes on', async () => {
    const src = source(Number.POSITIVE_INFINITY);
    const probe = new Probe();
    const out = await pipeline(src.iterable)
      .map(
        probe.wrap((x: number) => x),
        { concurrency: 3 },
      )
      .through(async function* take(input) {
        let n = 0;
        for await (const x of input) {
          yield x;
          if (++n === 4) break;
        }
        assert.equal(src.state.finished, true, 'upstream closed before the stage goes on');
        assert.equal(probe.running, 0);
        yield -1;
      })
      .toArray();
    assert.deepEqual(out, [0, 1, 2, 3, -1]);
  });

  it('throws into the stage what closing upstream raised when it stops reading', async () => {
    const closing = new Error('return failed');
    const src = failingClose(closing, () => 1);
    let seen: unknown;
    await assert.rejects(
      pipeline(src)
        .through(async function* take(input) {
          try {
            for await (const x of input) {
              yield x;
              break;
            }
          } catch (err) {
            seen = err;
            throw err;
          }
          yield -1;
        })
        .toArray(),
      (err) => err === closing,
    );
    assert.equal(seen, closing);
  });

  it('runs the stage’s finally and aborts its signal when the consumer stops early', async () => {
    let finalized = false;
    let aborted = false;
    for await (const x of pipeline(source(Number.POSITIVE_INFINITY).iterable).through(
      async function* (input, signal) {
        try {
          for await (const x of input) yield x;
        } finally {
          finalized = true;
          aborted = signal.aborted;
        }
      },
    )) {
      if (x === 2) break;
    }
    assert.equal(finalized, true);
    assert.equal(aborted, true);
  });

  it('accepts a stage that returns a plain iterable', async () => {
    const out = await pipeline([1, 2])
      .through(() => [7, 8, 9])
      .toArray();
    assert.deepEqual(out, [7, 8, 9]);
  });

  it('fails the pipeline with the error the stage threw', async () => {
    const boom = new Error('boom');
    const src = source(Number.POSITIVE_INFINITY);
    await assert.rejects(
      pipeline(src.iterable)
        .through(async function* (input) {
          for await (const x of input) {
            if (x === 2) throw boom;
            yield x;
          }
        })
        .drain(),
      (err) => err === boom,
    );
    assert.equal(src.state.finished, true);
  });
});
