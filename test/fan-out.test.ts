import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  AggregateTaskError,
  CancelledError,
  fanOut,
  fanOutSettled,
  type Progress,
  TimeoutError,
} from '../src/index.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

/** A task that waits for `ms`, or rejects with the reason once its signal aborts. */
const wait = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });

describe('fanOut', () => {
  it('returns the results in input order for an array, an iterable and an async iterable', async () => {
    const double = async (x: number) => {
      await sleep(5 - x);
      return x * 2;
    };
    function* gen() {
      yield* [1, 2, 3, 4];
    }
    async function* agen() {
      yield* [1, 2, 3, 4];
    }
    assert.deepEqual(await fanOut([1, 2, 3, 4], double), [2, 4, 6, 8]);
    assert.deepEqual(await fanOut(gen(), double, { concurrency: 2 }), [2, 4, 6, 8]);
    assert.deepEqual(await fanOut(agen(), double, { concurrency: 3 }), [2, 4, 6, 8]);
    assert.deepEqual(await fanOut(new Set([1, 2]), (x) => x), [1, 2]);
  });

  it('reads an input that is both iterable and async iterable through its async iterator, as for await does', async () => {
    const input = {
      [Symbol.iterator]: () => [1, 2][Symbol.iterator](),
      [Symbol.asyncIterator]: async function* () {
        yield* [10, 20];
      },
    };
    assert.deepEqual(await fanOut(input, (x) => x), [10, 20]);
  });

  it('returns every result of a large array in order, also when tasks finish out of order', async () => {
    const items = Array.from({ length: 5_000 }, (_, i) => i);
    const out = await fanOut(
      items,
      async (x) => {
        for (let t = x % 3; t > 0; t--) await tick();
        return x * 2;
      },
      { concurrency: 7 },
    );
    assert.equal(out.length, 5_000);
    assert.ok(out.every((v, i) => v === i * 2));
    assert.deepEqual(await fanOut(items.slice(0, 1_024), (x) => x), items.slice(0, 1_024));
  });

  it('lets many running tasks listen to their shared signal without a leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      for (const timeout of [undefined, 10_000]) {
        await fanOut(
          Array.from({ length: 40 }, (_, i) => i),
          (x, { signal }) => sleep(1, x, { signal }),
          {
            concurrency: 40,
            timeout,
          },
        );
      }
      await tick();
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it('resolves an empty input with an empty array', async () => {
    assert.deepEqual(await fanOut([], () => 1), []);
    assert.deepEqual(await fanOut((async function* () {})(), () => 1), []);
  });

  it('gives each task its index, attempt 1 and a signal', async () => {
    const seen = await fanOut(['a', 'b'], (x, ctx) => ({
      x,
      i: ctx.index,
      a: ctx.attempt,
      s: ctx.signal,
    }));
    assert.deepEqual(
      seen.map(({ x, i, a }) => [x, i, a]),
      [
        ['a', 0, 1],
        ['b', 1, 1],
      ],
    );
    assert.ok(seen[0]!.s instanceof AbortSignal);
  });

  it('never runs more than concurrency tasks at once', async () => {
    for (const source of ['array', 'async'] as const) {
      let running = 0;
      let peak = 0;
      const items = Array.from({ length: 50 }, (_, i) => i);
      const input =
        source === 'array'
          ? items
          : (async function* () {
              yield* items;
            })();
      await fanOut(
        input,
        async () => {
          peak = Math.max(peak, ++running);
          await tick();
          running--;
        },
        { concurrency: 7 },
      );
      assert.equal(peak, 7, source);
    }
  });

  it('starts the tasks that have room in the same tick for a synchronous iterable', () => {
    let started = 0;
    function* gen() {
      for (let i = 0; i < 10; i++) yield i;
    }
    const p = fanOut(gen(), () => started++, { concurrency: 4 });
    assert.equal(started, 4);
    return p.then(() => undefined);
  });

  it('lets go of the items of an async input it is done with while the call runs', async () => {
    // Rule 4: memory is bounded by concurrency, not by the length of a stream.
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const refs: WeakRef<object>[] = [];
    async function* items() {
      for (let i = 0; i < 50; i++) {
        const item = { i, pad: new Array(1_000).fill(i) };
        refs.push(new WeakRef(item));
        yield item;
      }
    }
    let alive = -1;
    await fanOut(
      items(),
      async (item) => {
        if (item.i !== 49) return;
        await nextTurn();
        gc();
        alive = refs.slice(0, 40).filter((r) => r.deref() !== undefined).length;
      },
      { concurrency: 2 },
    );
    assert.equal(alive, 0, 'items still held');
  });

  it('pulls its input lazily, one item per free slot', async () => {
    let pulled = 0;
    const release: (() => void)[] = [];
    function* gen() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield i;
      }
    }
    const p = fanOut(gen(), () => new Promise<void>((r) => release.push(r)), { concurrency: 3 });
    assert.equal(pulled, 3);
    release.shift()!();
    await tick();
    assert.equal(pulled, 4);
    while (release.length > 0) {
      release.shift()!();
      await tick();
    }
    await p;
    assert.equal(pulled, 100);
  });

  it('yields results in completion order when ordered is false', async () => {
    // Each task finishes when its gate opens; the gates open in the order 1, 15, 30.
    const gates = new Map<number, () => void>();
    const p = fanOut(
      [30, 1, 15],
      (x) => new Promise<number>((resolve) => gates.set(x, () => resolve(x))),
      { ordered: false },
    );
    for (const x of [1, 15, 30]) {
      gates.get(x)!();
      await tick();
    }
    assert.deepEqual(await p, [1, 15, 30]);
  });

  describe('when a task fails', () => {
    it('rejects with the very error the task threw, after the running tasks settle', async () => {
      const boom = new Error('boom');
      let settledSiblings = 0;
      const err = await fanOut([0, 1, 2, 3], async (x, { signal }) => {
        if (x === 1) {
          await tick();
          throw boom;
        }
        // This sibling ignores its signal: the call must still wait for it.
        await sleep(30);
        settledSiblings++;
        return signal.aborted;
      }).catch((e: unknown) => e);
      assert.equal(err, boom);
      assert.equal(settledSiblings, 3);
    });

    it('aborts the siblings with a CancelledError whose cause is the failure', async () => {
      const boom = new Error('boom');
      const reasons: unknown[] = [];
      await assert.rejects(
        fanOut([0, 1, 2], async (x, { signal }) => {
          if (x === 0) throw boom;
          await wait(10_000, signal).catch(() => reasons.push(signal.reason));
        }),
        boom,
      );
      assert.equal(reasons.length, 2);
      for (const r of reasons) {
        assert.ok(r instanceof CancelledError);
        assert.equal((r as CancelledError).code, 'ERR_FANOUT_CANCELLED');
        assert.equal((r as CancelledError).cause, boom);
      }
    });

    it('starts nothing after the first failure', async () => {
      let started = 0;
      let startedAtFailure = -1;
      await assert.rejects(
        fanOut(
          Array.from({ length: 100 }, (_, i) => i),
          async (x) => {
            started++;
            await tick();
            if (x === 2) {
              startedAtFailure = started;
              throw new Error('fail');
            }
          },
          { concurrency: 5 },
        ),
      );
      assert.ok(startedAtFailure >= 5);
      assert.equal(started, startedAtFailure);
    });

    it('keeps later errors in suppressed and leaves out mere echoes of the cancellation', async () => {
      const first = new Error('first');
      const second = new Error('second');
      const err = (await fanOut([0, 1, 2], async (x, { signal }) => {
        if (x === 0) throw first;
        if (x === 1) {
          await wait(10_000, signal).catch(() => {});
          throw second; // its own failure, after the cancellation
        }
        await wait(10_000, signal); // rejects with an AbortError caused by the reason
      }).catch((e: unknown) => e)) as Error & { suppressed?: unknown[] };
      assert.equal(err, first);
      assert.deepEqual(err.suppressed, [second]);
    });

    it('reports a task that throws a value that is not an Error', async () => {
      await assert.rejects(
        fanOut([1], () => Promise.reject('plain string')),
        (e) => e === 'plain string',
      );
      const err = await fanOut([1], () => {
        throw undefined;
      }).then(
        () => 'resolved',
        (e: unknown) => ({ rejectedWith: e }),
      );
      assert.deepEqual(err, { rejectedWith: undefined });
    });

    it('closes the input iterator so that its finally runs', async () => {
      let closed = 0;
      function* gen() {
        try {
          for (let i = 0; ; i++) yield i;
        } finally {
          closed++;
        }
      }
      async function* agen() {
        yield* gen();
      }
      for (const input of [gen(), agen()]) {
        await assert.rejects(
          fanOut(
            input,
            (x) => {
              if (x === 3) throw new Error('stop');
            },
            { concurrency: 2 },
          ),
        );
      }
      assert.equal(closed, 2);
    });

    it('fails the call when the input iterator throws', async () => {
      const broken = new Error('input broke');
      function* gen() {
        yield 1;
        throw broken;
      }
      await assert.rejects(
        fanOut(gen(), (x) => x),
        broken,
      );
      async function* agen() {
        yield 1;
        throw broken;
      }
      await assert.rejects(
        fanOut(agen(), (x) => x, { failFast: false }),
        broken,
      );
    });
  });

  describe('with failFast: false', () => {
    it('runs every task, then rejects with an AggregateTaskError of every error in task order', async () => {
      const ran: number[] = [];
      const err = await fanOut(
        [0, 1, 2, 3],
        async (x) => {
          await sleep(3 - x);
          ran.push(x);
          if (x % 2 === 1) throw new Error(`task ${x}`);
          return x;
        },
        { failFast: false },
      ).catch((e: unknown) => e);
      assert.ok(err instanceof AggregateTaskError);
      assert.ok(err instanceof AggregateError);
      assert.equal(err.code, 'ERR_FANOUT_AGGREGATE');
      assert.deepEqual(
        err.errors.map((e: Error) => e.message),
        ['task 1', 'task 3'],
      );
      assert.deepEqual(err.indices, [1, 3]);
      assert.equal(err.message, '2 of 4 tasks failed');
      assert.equal(ran.length, 4);
    });
  });

  describe('with a parent signal', () => {
    it('rejects with signal.reason as is, after the running tasks settle', async () => {
      const controller = new AbortController();
      const reason = { why: 'shutdown' };
      let settled = 0;
      const p = fanOut([1, 2, 3], async (_x, { signal }) => {
        await wait(10_000, signal).catch(() => {});
        await tick();
        settled++;
      });
      const q = fanOut(
        [1, 2, 3],
        async (_x, { signal }) => {
          await wait(10_000, signal).finally(() => settled++);
        },
        { signal: controller.signal },
      );
      setTimeout(() => controller.abort(reason), 5);
      await assert.rejects(q, (e) => e === reason);
      assert.equal(settled, 3);
      // The first call has no parent: it keeps running until its own end.
      void p;
    });

    it('starts nothing and pulls nothing when the signal is already aborted', async () => {
      let pulled = 0;
      function* gen() {
        pulled++;
        yield 1;
      }
      let started = 0;
      const reason = new Error('already');
      const signal = AbortSignal.abort(reason);
      await assert.rejects(
        fanOut(gen(), () => started++, { signal }),
        reason,
      );
      await assert.rejects(
        fanOutSettled([1], () => started++, { signal }),
        reason,
      );
      assert.equal(started, 0);
      assert.equal(pulled, 0);
    });

    it('leaves no listener on the signal, whether it resolves, fails or is aborted', async () => {
      const controller = new AbortController();
      const { signal } = controller;
      let peak = 0;
      await fanOut(
        [1, 2, 3],
        async () => {
          peak = Math.max(peak, listeners(signal));
          await tick();
        },
        { signal, concurrency: 2 },
      );
      assert.equal(peak, 1);
      assert.equal(listeners(signal), 0);
      await assert.rejects(fanOut([1], () => Promise.reject(new Error('x')), { signal }));
      assert.equal(listeners(signal), 0);
      await fanOutSettled([1], () => Promise.reject(new Error('x')), { signal, timeout: 100 });
      assert.equal(listeners(signal), 0);
      const p = fanOut([1], (_x, ctx) => wait(10_000, ctx.signal), {
        signal,
        retry: { attempts: 2 },
      });
      controller.abort();
      await assert.rejects(p);
      assert.equal(listeners(signal), 0);
    });

    it('does not hang on an async input that never yields when the parent aborts', async () => {
      const source: AsyncIterable<number> = {
        [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }),
      };
      const signal = AbortSignal.timeout(20);
      await assert.rejects(
        fanOut(source, (x) => x, { signal }),
        { name: 'TimeoutError' },
      );
    });
  });

  describe('with a timeout', () => {
    it('aborts the attempt with a TimeoutError and fails the task with it', async () => {
      let reason: unknown;
      const err = await fanOut(
        [1],
        async (_x, { signal }) => {
          await wait(10_000, signal).catch(() => {
            reason = signal.reason;
          });
        },
        { timeout: 10 },
      ).catch((e: unknown) => e);
      assert.ok(err instanceof TimeoutError);
      assert.equal(err.code, 'ERR_FANOUT_TIMEOUT');
      assert.equal(err.ms, 10);
      assert.equal(reason, err);
    });

    it('waits for a task that ignores the timeout before failing it', async () => {
      let done = false;
      await assert.rejects(
        fanOut(
          [1],
          async (_x, { signal }) => {
            // Goes on for a while after the timeout aborted it (and without
            // a timeout, ends after 10 s, so that the test fails, not hangs).
            await wait(10_000, signal).catch(() => {});
            await sleep(20);
            done = true;
          },
          { timeout: 5 },
        ),
        TimeoutError,
      );
      assert.ok(done);
    });

    it('lets a task that finishes in time succeed', async () => {
      assert.deepEqual(await fanOut([1, 2], async (x) => x, { timeout: 1000 }), [1, 2]);
    });
  });

  describe('with retry', () => {
    it('tries a failing task up to attempts times, counting ctx.attempt from 1', async () => {
      const attempts: number[] = [];
      const out = await fanOut(
        ['x'],
        (_x, { attempt }) => {
          attempts.push(attempt);
          if (attempt < 3) throw new Error(`try ${attempt}`);
          return 'ok';
        },
        { retry: { attempts: 5, backoff: 0 } },
      );
      assert.deepEqual(out, ['ok']);
      assert.deepEqual(attempts, [1, 2, 3]);
    });

    it('rejects with the last error once the attempts run out', async () => {
      let n = 0;
      await assert.rejects(
        fanOut(
          [1],
          () => {
            throw new Error(`try ${++n}`);
          },
          { retry: { attempts: 3, backoff: 0 } },
        ),
        { message: 'try 3' },
      );
    });

    it('asks retryIf before each retry', async () => {
      let n = 0;
      const fatal = new Error('fatal');
      await assert.rejects(
        fanOut(
          [1],
          () => {
            n++;
            throw fatal;
          },
          { retry: { attempts: 5, backoff: 0, retryIf: (e) => e !== fatal } },
        ),
        fatal,
      );
      assert.equal(n, 1);
    });

    it('waits the backoff a function returns, exponentially by default', async () => {
      const delays: number[] = [];
      let n = 0;
      await fanOut(
        [1],
        () => {
          if (++n < 3) throw new Error('again');
        },
        {
          retry: {
            attempts: 3,
            backoff: (attempt) => {
              delays.push(attempt);
              return 1;
            },
          },
        },
      );
      assert.deepEqual(delays, [1, 2]);
      const t0 = Date.now();
      let m = 0;
      await fanOut(
        [1],
        () => {
          if (++m < 3) throw new Error('again');
        },
        { retry: { attempts: 3, backoff: { initial: 20, factor: 2, jitter: false } } },
      );
      assert.ok(Date.now() - t0 >= 55, 'waits 20 then 40 ms');
    });

    it('retries a timed-out attempt with a fresh signal', async () => {
      const out = await fanOut(
        [1],
        async (_x, { signal, attempt }) => {
          assert.equal(signal.aborted, false);
          if (attempt === 1) await wait(10_000, signal);
          return attempt;
        },
        { timeout: 10, retry: { attempts: 2, backoff: 0 } },
      );
      assert.deepEqual(out, [2]);
    });

    it('never retries once the call is aborted, and ends the backoff wait at once', async () => {
      const controller = new AbortController();
      let n = 0;
      const t0 = Date.now();
      const p = fanOut(
        [1],
        () => {
          n++;
          throw new Error('fail');
        },
        { signal: controller.signal, retry: { attempts: 10, backoff: 60_000 } },
      );
      await sleep(10);
      controller.abort(new Error('stop'));
      await assert.rejects(p, { message: 'stop' });
      assert.equal(n, 1);
      // Far below the 60 s backoff.
      assert.ok(Date.now() - t0 < 30_000);
    });

    it('does not retry siblings cancelled by a failure', async () => {
      const tries = new Map<number, number>();
      await assert.rejects(
        fanOut(
          [0, 1],
          async (x, { signal }) => {
            tries.set(x, (tries.get(x) ?? 0) + 1);
            if (x === 0) {
              await tick();
              throw new Error('zero');
            }
            await wait(10_000, signal);
          },
          {
            retry: { attempts: 3, backoff: 0, retryIf: (_e, attempt) => attempt > 0 },
            failFast: true,
          },
        ),
      );
      assert.equal(tries.get(1), 1);
    });
  });

  describe('onProgress', () => {
    it('reports started, done, failed and the total for an array', async () => {
      const reports: Progress[] = [];
      await fanOutSettled(
        [1, 2, 3],
        (x) => {
          if (x === 2) throw new Error('two');
          return x;
        },
        { onProgress: (p) => reports.push(p), concurrency: 1 },
      );
      assert.deepEqual(reports.at(-1), { started: 3, done: 3, failed: 1, total: 3 });
      assert.equal(reports.length, 6);
      assert.ok(reports.every((p, i) => i === 0 || p.started >= reports[i - 1]!.started));
    });

    it('starts no task once onProgress has thrown, and rejects with its error', async () => {
      const broken = new Error('progress');
      let ran = 0;
      await assert.rejects(
        fanOut(
          [1, 2, 3],
          () => {
            ran++;
          },
          {
            concurrency: 1,
            onProgress: () => {
              throw broken;
            },
          },
        ),
        (err) => err === broken,
      );
      assert.equal(ran, 0);
    });

    it('leaves out the total when the input has no length', async () => {
      const reports: Progress[] = [];
      await fanOut(
        (async function* () {
          yield 1;
        })(),
        (x) => x,
        { onProgress: (p) => reports.push(p) },
      );
      assert.deepEqual(reports.at(-1), { started: 1, done: 1, failed: 0 });
    });
  });

  describe('with bad input', () => {
    const cases: [string, () => Promise<unknown>, RegExp, typeof TypeError][] = [
      [
        'a non-function fn',
        () => fanOut([1], 'nope' as never),
        /fn must be a function, got "nope"/,
        TypeError,
      ],
      [
        'a non-iterable input',
        () => fanOut(42 as never, () => 1),
        /tasks must be an Iterable or AsyncIterable, got 42/,
        TypeError,
      ],
      [
        'concurrency 0',
        () => fanOut([1], () => 1, { concurrency: 0 }),
        /concurrency must be an integer from 1 to Infinity, got 0/,
        RangeError,
      ],
      [
        'a fractional concurrency',
        () => fanOut([1], () => 1, { concurrency: 1.5 }),
        /concurrency.*got 1\.5/,
        RangeError,
      ],
      [
        'a negative timeout',
        () => fanOut([1], () => 1, { timeout: -1 }),
        /timeout must be 0 or more milliseconds, got -1/,
        RangeError,
      ],
      [
        'retry with 0 attempts',
        () => fanOut([1], () => 1, { retry: { attempts: 0 } }),
        /retry\.attempts.*got 0/,
        RangeError,
      ],
      [
        'a non-signal',
        () => fanOut([1], () => 1, { signal: {} as never }),
        /signal must be an AbortSignal/,
        TypeError,
      ],
      [
        'a bad backoff, even with a single attempt',
        () => fanOut([1], () => 1, { retry: { attempts: 1, backoff: -5 } }),
        /backoff must be/,
        RangeError,
      ],
      [
        'a non-function onProgress',
        () => fanOut([1], () => 1, { onProgress: 1 as never }),
        /onProgress must be a function, got 1/,
        TypeError,
      ],
    ];
    for (const [what, call, message, type] of cases) {
      it(`rejects ${what} with a ${type.name} that names it`, async () => {
        await assert.rejects(call(), (e: unknown) => {
          assert.ok(e instanceof type);
          assert.match((e as Error).message, message);
          return true;
        });
      });
    }

    it('starts no task when an option is bad', async () => {
      let started = 0;
      await assert.rejects(fanOut([1], () => started++, { concurrency: -1 }));
      assert.equal(started, 0);
    });
  });
});

describe('fanOutSettled', () => {
  it('resolves with every outcome in input order and never rejects for a task', async () => {
    const boom = new Error('boom');
    const out = await fanOutSettled([1, 2, 3], async (x) => {
      if (x === 2) throw boom;
      return x;
    });
    assert.deepEqual(out, [
      { status: 'fulfilled', value: 1 },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: 3 },
    ]);
  });

  it('runs every task even when failFast is asked for', async () => {
    let ran = 0;
    const out = await fanOutSettled(
      [1, 2, 3],
      () => {
        ran++;
        throw new Error('x');
      },
      { failFast: true, concurrency: 1 },
    );
    assert.equal(ran, 3);
    assert.equal(out.length, 3);
  });

  it('rejects with the reason when its signal aborts', async () => {
    const controller = new AbortController();
    const p = fanOutSettled([1], (_x, { signal }) => wait(10_000, signal), {
      signal: controller.signal,
    });
    controller.abort('bye');
    await assert.rejects(p, (e) => e === 'bye');
    assert.equal(listeners(controller.signal), 0);
  });
});
