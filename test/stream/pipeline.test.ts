import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { CancelledError, Channel, pipeline } from '../../src/index.ts';
import { failingClose, Probe, sleep, source } from '../fixtures/stream.ts';

describe('Pipeline', () => {
  it('runs map, filter and reduce over an array', async () => {
    const sum = await pipeline([1, 2, 3, 4, 5])
      .map((x) => x + 1)
      .map(async (x) => x * 3, { concurrency: 3 })
      .filter((x) => x % 2 === 0)
      .reduce((a, x) => a + x, 0);
    assert.equal(sum, 6 + 12 + 18);
  });

  it('lets many running tasks listen to their stage signal without a leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const items = Array.from({ length: 40 }, (_, i) => i);
      await pipeline(items)
        .map((x, { signal }) => sleepFor(1, x, { signal }), { concurrency: 40 })
        .drain();
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it('reads sync iterables, async generators and channels alike', async () => {
    function* gen() {
      yield* [1, 2, 3];
    }
    assert.deepEqual(await pipeline(gen()).toArray(), [1, 2, 3]);
    assert.deepEqual(await pipeline(source(3).iterable).toArray(), [0, 1, 2]);
    const ch = new Channel<number>(1);
    void (async () => {
      for (let i = 0; i < 4; i++) await ch.send(i);
      ch.close();
    })();
    assert.deepEqual(
      await pipeline(ch)
        .map((x) => x * 2)
        .toArray(),
      [0, 2, 4, 6],
    );
  });

  it('leaves an open channel at once on break, without losing what it did not read', async () => {
    const ch = new Channel<number>(8);
    for (let i = 0; i < 3; i++) await ch.send(i);
    for await (const x of pipeline(ch).map(async (x: number) => x, { concurrency: 2 })) {
      if (x === 0) break;
    }
    // Nothing waits on the channel any more: a value sent now stays in it.
    assert.equal(ch.trySend(99), true);
    const left: number[] = [];
    for (let r = ch.tryRecv(); r?.ok; r = ch.tryRecv()) left.push(r.value);
    assert.ok(left.includes(99));
  });

  it('stops waiting on an empty channel when the signal aborts', async () => {
    const ch = new Channel<number>();
    const controller = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(
      pipeline(ch, { signal: controller.signal })
        .map((x: number) => x, { concurrency: 2 })
        .drain(),
      (err) => err === reason,
    );
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('awaits promises yielded by a sync source, as for await does', async () => {
    assert.deepEqual(await pipeline([Promise.resolve(1), 2]).toArray(), [1, 2]);
  });

  it('is itself an AsyncIterable', async () => {
    const seen: number[] = [];
    for await (const x of pipeline([1, 2, 3]).map((x) => x * 10)) seen.push(x);
    assert.deepEqual(seen, [10, 20, 30]);
  });

  it('keeps input order with ordered map, whatever the finishing order', async () => {
    const out = await pipeline([30, 5, 20, 1, 10, 0])
      .map(
        async (ms) => {
          await sleep(ms);
          return ms;
        },
        { concurrency: 4 },
      )
      .toArray();
    assert.deepEqual(out, [30, 5, 20, 1, 10, 0]);
  });

  it('gives every item of an unordered map, in finishing order', async () => {
    // The slow item waits for the fast one to finish: no race between timers.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const out = await pipeline(['slow', 'fast'])
      .map(
        async (x) => {
          if (x === 'slow') await gate;
          else setImmediate(release);
          return x;
        },
        { concurrency: 2, ordered: false },
      )
      .toArray();
    assert.deepEqual(out, ['fast', 'slow']);
  });

  it('hands each task a TaskContext with its index and attempt', async () => {
    const seen: [number, number, boolean][] = [];
    await pipeline(['a', 'b', 'c'])
      .map((_, ctx) => seen.push([ctx.index, ctx.attempt, ctx.signal instanceof AbortSignal]), {
        concurrency: 2,
      })
      .drain();
    assert.deepEqual(seen, [
      [0, 1, true],
      [1, 1, true],
      [2, 1, true],
    ]);
  });

  it('runs forEach with a concurrency bound and resolves after every call', async () => {
    const probe = new Probe();
    await pipeline(Array.from({ length: 40 }, (_, i) => i)).forEach(
      probe.wrap(() => sleep(1)),
      { concurrency: 5 },
    );
    assert.equal(probe.ended, 40);
    assert.equal(probe.running, 0);
    assert.ok(probe.max <= 5 && probe.max >= 2, `max ${probe.max}`);
  });

  it('never runs more than concurrency tasks at once, nor reads far ahead of the consumer', async () => {
    const probe = new Probe();
    const src = source(Number.POSITIVE_INFINITY);
    let consumed = 0;
    for await (const _ of pipeline(src.iterable).map(
      probe.wrap(() => sleep(1)),
      { concurrency: 4 },
    )) {
      consumed++;
      // Held: at most 4 running plus 4 finished, whatever the stream length.
      assert.ok(src.state.pulled - consumed <= 8, `${src.state.pulled} pulled, ${consumed} used`);
      await sleep(2);
      if (consumed === 30) break;
    }
    assert.ok(probe.max <= 4);
    assert.equal(probe.running, 0);
  });

  it('holds at most 2 × concurrency items behind a slow first item when ordered', async () => {
    const src = source(Number.POSITIVE_INFINITY);
    let maxHeld = 0;
    let firstDone = false;
    const it = pipeline(src.iterable)
      .map(
        async (x: number, { signal }) => {
          if (x === 0) {
            await sleep(50, signal);
            firstDone = true;
          }
          if (!firstDone) maxHeld = Math.max(maxHeld, src.state.pulled);
          return x;
        },
        { concurrency: 3 },
      )
      [Symbol.asyncIterator]();
    assert.deepEqual(await it.next(), { value: 0, done: false });
    await it.return!();
    assert.ok(maxHeld <= 6, `${maxHeld} items read while item 0 ran`);
    assert.equal(src.state.finished, true);
  });

  it('has run the source finally and every task by the time break returns', async () => {
    const probe = new Probe();
    const src = source(Number.POSITIVE_INFINITY);
    for await (const x of pipeline(src.iterable).map(
      probe.wrap((x: number, { signal }) => sleep(5, signal).then(() => x)),
      { concurrency: 4 },
    )) {
      if (x === 2) break;
    }
    assert.equal(src.state.finished, true);
    assert.equal(src.state.closedEarly, true);
    assert.equal(probe.running, 0);
    assert.ok(probe.aborted >= 1, 'in-flight tasks saw their signal abort');
    const started = probe.started;
    await sleep(20);
    assert.equal(probe.started, started, 'nothing started after break');
  });

  it('waits for a read of the source under way, then closes it, before break returns', async () => {
    const src = source(Number.POSITIVE_INFINITY, 5);
    for await (const x of pipeline(src.iterable).map((x: number) => x, { concurrency: 4 })) {
      if (x === 0) break;
    }
    assert.equal(src.state.finished, true);
    assert.equal(src.state.closedEarly, true);
  });

  it('makes break throw an error a task raised on its own while stopping, not an echo of the stop', async () => {
    const own = new Error('cleanup failed');
    const loop = async (onAbort: (reason: unknown) => unknown) => {
      for await (const x of pipeline([0, 1]).map(
        async (x, { signal }) => {
          if (x === 0) return x;
          await new Promise((_, reject) => {
            signal.addEventListener('abort', () => reject(onAbort(signal.reason)), { once: true });
          });
        },
        { concurrency: 2 },
      )) {
        if (x === 0) break;
      }
    };
    await assert.rejects(
      loop(() => own),
      (err) => err === own,
    );
    await loop((reason) => reason); // an echo of the stop: break returns quietly
  });

  it('makes break throw an error the source raised while closing, while a stage still winds down', async () => {
    const closing = new Error('finally failed');
    async function* src() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: a source whose cleanup fails
        throw closing;
      }
    }
    const loop = async () => {
      // The map's tasks ignore the stop, so the source is closed (and fails) before they end.
      for await (const x of pipeline(src()).map((x) => sleep(20).then(() => x), {
        concurrency: 2,
      })) {
        if (x === 0) break;
      }
    };
    await assert.rejects(loop(), (err) => err === closing);
  });

  it('makes break throw the error of a source’s return() that fails at once while a read is under way', async () => {
    const closing = new Error('return failed');
    const src = failingClose(closing);
    const loop = async () => {
      // The map reads ahead: a slow read is under way when the loop breaks.
      for await (const x of pipeline(src).map((x) => x, { concurrency: 2 })) if (x === 0) break;
    };
    await assert.rejects(loop(), (err) => err === closing);
  });

  it('rejects with the very error a stage threw, after everything stopped', async () => {
    const boom = new Error('boom');
    const probe = new Probe();
    const src = source(Number.POSITIVE_INFINITY);
    await assert.rejects(
      pipeline(src.iterable)
        .map(
          probe.wrap(async (x: number, { signal }) => {
            if (x === 5) throw boom;
            await sleep(3, signal);
            return x;
          }),
          { concurrency: 3 },
        )
        .toArray(),
      (err) => err === boom,
    );
    assert.equal(probe.running, 0);
    assert.equal(src.state.finished, true);
  });

  it('aborts in-flight tasks with a CancelledError whose cause is the failure', async () => {
    const boom = new Error('boom');
    let reason: unknown;
    await assert.rejects(
      pipeline([0, 1])
        .map(
          async (x, { signal }) => {
            if (x === 1) throw boom;
            await sleep(10_000, signal).catch((e) => {
              reason = e;
              throw e;
            });
          },
          { concurrency: 2 },
        )
        .drain(),
      (err) => err === boom,
    );
    assert.ok(reason instanceof CancelledError);
    assert.equal(reason.cause, boom);
  });

  it('keeps errors of other tasks in the first error’s suppressed', async () => {
    const first = new Error('first');
    const second = new Error('second');
    await assert.rejects(
      pipeline([0, 1])
        .map(
          async (x) => {
            if (x === 0) throw first;
            await sleep(5);
            throw second;
          },
          { concurrency: 2 },
        )
        .drain(),
      (err) => err === first && (err as { suppressed?: unknown[] }).suppressed?.[0] === second,
    );
  });

  it('keeps the errors raised while stopping, by tasks and by the source, side by side in the first error’s suppressed', async () => {
    const boom = new Error('boom');
    const own = new Error('task cleanup failed');
    const closing = new Error('return failed');
    const src = failingClose(closing, () => 1);
    await assert.rejects(
      pipeline(src)
        .map(
          async (x, { signal }) => {
            if (x === 1) throw boom;
            await new Promise((_, reject) => {
              signal.addEventListener('abort', () => reject(own), { once: true });
            });
          },
          { concurrency: 2 },
        )
        .drain(),
      (err) => {
        assert.equal(err, boom);
        const suppressed = (err as { suppressed?: unknown[] }).suppressed;
        assert.equal(suppressed?.length, 2);
        assert.equal(suppressed[0], own);
        assert.equal(suppressed[1], closing);
        return true;
      },
    );
  });

  it('rejects with the error a reduce function threw and stops the source', async () => {
    const boom = new Error('boom');
    const src = source(Number.POSITIVE_INFINITY);
    await assert.rejects(
      pipeline(src.iterable).reduce((a, x) => {
        if (x === 3) throw boom;
        return a + x;
      }, 0),
      (err) => err === boom,
    );
    assert.equal(src.state.finished, true);
  });

  it('rejects with the error of the source iterator', async () => {
    const boom = new Error('boom');
    async function* bad() {
      yield 1;
      throw boom;
    }
    await assert.rejects(
      pipeline(bad())
        .map((x) => x, { concurrency: 2 })
        .toArray(),
      (err) => err === boom,
    );
  });

  it('stops with signal.reason when the signal aborts, after everything stopped', async () => {
    const controller = new AbortController();
    const probe = new Probe();
    const src = source(Number.POSITIVE_INFINITY);
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 20);
    await assert.rejects(
      pipeline(src.iterable, { signal: controller.signal })
        .map(
          probe.wrap((x: number, { signal }) => sleep(2, signal).then(() => x)),
          { concurrency: 4 },
        )
        .drain(),
      (err) => err === reason,
    );
    assert.equal(probe.running, 0);
    assert.equal(src.state.finished, true);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('stops with signal.reason when the signal aborts in the loop body and closing the source fails', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    async function* src() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        // biome-ignore lint/correctness/noUnsafeFinally: a source whose cleanup fails
        throw new Error('finally failed');
      }
    }
    const loop = async () => {
      for await (const _ of pipeline(src(), { signal: controller.signal })) {
        controller.abort(reason);
        await sleep(20); // the source is closed, and fails, before the loop asks for more
      }
    };
    await assert.rejects(loop(), (err) => err === reason);
  });

  it('starts nothing when the signal is already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('already');
    controller.abort(reason);
    let called = 0;
    const src = source(10);
    const p = pipeline(src.iterable, { signal: controller.signal }).map(() => called++);
    await assert.rejects(p.toArray(), (err) => err === reason);
    const it = pipeline([1], { signal: controller.signal })[Symbol.asyncIterator]();
    await assert.rejects(it.next(), (err) => err === reason);
    assert.equal(called, 0);
    assert.equal(src.state.pulled, 0);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('leaves no listener on the signal after it ends, fails or breaks', async () => {
    const controller = new AbortController();
    const { signal } = controller;
    for (let i = 0; i < 5; i++) {
      await pipeline([1, 2, 3], { signal })
        .map(async (x) => x, { concurrency: 2 })
        .toArray();
      await pipeline([1, 2, 3], { signal })
        .map(() => {
          throw new Error('x');
        })
        .drain()
        .catch(() => {});
      for await (const _ of pipeline([1, 2, 3], { signal })) break;
    }
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  it('adds at most one listener to the signal per run', async () => {
    const controller = new AbortController();
    const it = pipeline([1, 2, 3], { signal: controller.signal })
      .map(async (x) => x, { concurrency: 2 })
      .filter(() => true)
      .map(async (x) => x, { concurrency: 3 })
      [Symbol.asyncIterator]();
    await it.next();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    await it.return!();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('throws a TypeError when a pipeline is consumed or extended twice', async () => {
    const p = pipeline([1, 2]);
    assert.deepEqual(await p.toArray(), [1, 2]);
    await assert.rejects(p.toArray(), TypeError);
    assert.throws(() => p[Symbol.asyncIterator](), /already consumed/);
    const base = pipeline([1, 2]);
    base.map((x) => x);
    assert.throws(() => base.map((x) => x), TypeError);
  });

  it('throws a TypeError or RangeError naming the bad argument before anything runs', async () => {
    assert.throws(() => pipeline(42 as never), /pipeline: source must be an Iterable.*got 42/);
    assert.throws(
      () => pipeline([1], { signal: 'x' as never }),
      /options.signal must be an AbortSignal/,
    );
    assert.throws(
      () => pipeline([1]).map('f' as never),
      /pipeline.map: fn must be a function, got "f"/,
    );
    assert.throws(
      () => pipeline([1]).map((x) => x, { concurrency: 0 }),
      (e) => e instanceof RangeError && /options.concurrency.*got 0/.test(e.message),
    );
    assert.throws(() => pipeline([1]).map((x) => x, { timeout: -1 }), RangeError);
    assert.throws(() => pipeline([1]).filter(null as never), TypeError);
    assert.throws(
      () => pipeline([1]).batch(0),
      /batch: size must be an integer of 1 or more, got 0/,
    );
    assert.throws(() => pipeline([1]).batch(2, { maxWait: -5 }), RangeError);
    assert.throws(() => pipeline([1]).rateLimit(1, 0), RangeError);
    assert.throws(() => pipeline([1]).through(1 as never), TypeError);
    await assert.rejects(pipeline([1]).reduce(3 as never, 0), TypeError);
    await assert.rejects(
      pipeline([1]).forEach(() => {}, { concurrency: -1 }),
      RangeError,
    );
    await assert.rejects(
      pipeline([1]).forEach(() => {}, 5 as never),
      TypeError,
    );
  });

  it('applies timeout and retry to map tasks as fanOut does', async () => {
    let tries = 0;
    const out = await pipeline([1])
      .map(
        async (x, { attempt }) => {
          tries++;
          if (attempt < 3) throw new Error('flaky');
          return x * 2;
        },
        { retry: { attempts: 3, backoff: 0 } },
      )
      .toArray();
    assert.deepEqual(out, [2]);
    assert.equal(tries, 3);
    await assert.rejects(
      pipeline([1])
        .map((_, { signal }) => sleep(10_000, signal), { timeout: 5, concurrency: 2 })
        .drain(),
      { code: 'ERR_FANOUT_TIMEOUT' },
    );
  });

  it('reads a Node Readable as a source and feeds Readable.from as a sink', async () => {
    const readable = Readable.from(['a', 'b', 'c']);
    const upper = pipeline(readable).map(async (s: string) => s.toUpperCase(), { concurrency: 2 });
    const chunks: string[] = [];
    await streamPipeline(
      Readable.from(upper),
      new Writable({
        objectMode: true,
        write(chunk, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      }),
    );
    assert.deepEqual(chunks, ['A', 'B', 'C']);
  });

  it('stops every stage when a Readable sink is destroyed early', async () => {
    const src = source(Number.POSITIVE_INFINITY);
    const probe = new Probe();
    const out = Readable.from(
      pipeline(src.iterable).map(
        probe.wrap((x: number) => x),
        { concurrency: 2 },
      ),
    );
    let n = 0;
    for await (const _ of out) if (++n === 5) break;
    await sleep(10);
    assert.equal(src.state.finished, true);
    assert.equal(probe.running, 0);
  });

  it('destroys a Readable source when the consumer stops early', async () => {
    let i = 0;
    const readable = new Readable({
      objectMode: true,
      read() {
        this.push(i++);
      },
    });
    for await (const x of pipeline(readable).map(async (x: number) => x, { concurrency: 2 })) {
      if (x === 3) break;
    }
    assert.equal(readable.destroyed, true);
  });
});
