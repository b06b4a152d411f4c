import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, Group } from '../src/index.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;
const wait = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });

describe('Group', () => {
  // A go that waited for its function to finish would hang here: the timeout fails it.
  it('waits for every function and resolves when all succeed', { timeout: 30_000 }, async () => {
    const g = new Group();
    const done: number[] = [];
    const release: (() => void)[] = [];
    for (const i of [0, 1, 2]) {
      await g.go(async () => {
        await new Promise<void>((resolve) => release.push(resolve));
        done.push(i);
      });
    }
    assert.equal(release.length, 3, 'the three functions run at once');
    let waited = false;
    const waiting = g.wait().then(() => {
      waited = true;
    });
    release[2]!();
    release[1]!();
    await tick();
    assert.equal(waited, false, 'wait resolved while a function still ran');
    release[0]!();
    await waiting;
    assert.deepEqual(done, [2, 1, 0]);
  });

  it('aborts its signal on the first failure and rejects wait with that error', async () => {
    const g = new Group();
    const boom = new Error('boom');
    let siblingReason: unknown;
    await g.go((signal) =>
      wait(10_000, signal).catch(() => {
        siblingReason = signal.reason;
      }),
    );
    await g.go(async () => {
      await tick();
      throw boom;
    });
    await assert.rejects(g.wait(), boom);
    assert.ok(siblingReason instanceof CancelledError);
    assert.equal((siblingReason as Error).cause, boom);
    assert.ok(g.signal.aborted);
  });

  it('keeps later own errors in suppressed', async () => {
    const g = new Group();
    const first = new Error('first');
    const later = new Error('later');
    await g.go(async (signal) => {
      await wait(10_000, signal).catch(() => {});
      throw later;
    });
    await g.go(() => {
      throw first;
    });
    const err = (await g.wait().catch((e: unknown) => e)) as Error & { suppressed?: unknown[] };
    assert.equal(err, first);
    assert.deepEqual(err.suppressed, [later]);
  });

  it('skips functions given to go after the group failed', async () => {
    const g = new Group();
    await g.go(() => Promise.reject(new Error('x')));
    await tick();
    let ran = false;
    await g.go(() => {
      ran = true;
    });
    assert.equal(
      g.tryGo(() => {}),
      false,
    );
    await assert.rejects(g.wait());
    assert.equal(ran, false);
  });

  it('makes go wait at the limit, first come first served, and never exceeds it', async () => {
    const g = new Group({ limit: 2 });
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    for (let i = 0; i < 6; i++) {
      await g.go(async () => {
        order.push(i);
        peak = Math.max(peak, ++running);
        await sleep(2);
        running--;
      });
    }
    await g.wait();
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  it('refuses tryGo at the limit and accepts it below', async () => {
    const g = new Group({ limit: 1 });
    let release!: () => void;
    assert.equal(
      g.tryGo(() => new Promise<void>((r) => (release = r))),
      true,
    );
    assert.equal(
      g.tryGo(() => {}),
      false,
    );
    release();
    await g.wait();
    assert.equal(
      g.tryGo(() => {}),
      true,
    );
    await g.wait();
  });

  it('resolves the go calls waiting at the limit without running them once the group fails', async () => {
    const g = new Group({ limit: 1 });
    let ran = false;
    await g.go(async () => {
      await tick();
      throw new Error('first');
    });
    const queued = g.go(() => {
      ran = true;
    });
    await queued;
    await assert.rejects(g.wait(), { message: 'first' });
    assert.equal(ran, false);
  });

  describe('with a parent signal', () => {
    it('aborts its own signal and rejects wait with the reason when the parent aborts', async () => {
      const controller = new AbortController();
      const g = new Group({ signal: controller.signal });
      let settled = false;
      await g.go((signal) => wait(10_000, signal).finally(() => (settled = true)));
      controller.abort('parent gone');
      await assert.rejects(g.wait(), (e) => e === 'parent gone');
      assert.ok(settled);
      assert.equal(g.signal.reason, 'parent gone');
    });

    it('starts nothing when the parent is already aborted', async () => {
      const g = new Group({ signal: AbortSignal.abort('early') });
      let ran = false;
      await g.go(() => {
        ran = true;
      });
      assert.equal(ran, false);
      assert.ok(g.signal.aborted);
      await assert.rejects(g.wait(), (e) => e === 'early');
    });

    it('holds one listener while busy and none once wait settles', async () => {
      const controller = new AbortController();
      const g = new Group({ signal: controller.signal, limit: 3 });
      for (let i = 0; i < 5; i++) await g.go(() => tick());
      assert.equal(listeners(controller.signal), 1);
      await g.wait();
      assert.equal(listeners(controller.signal), 0);
      const failing = new Group({ signal: controller.signal });
      await failing.go(() => Promise.reject(new Error('x')));
      await assert.rejects(failing.wait());
      assert.equal(listeners(controller.signal), 0);
    });
  });

  describe('with await using', () => {
    it('aborts unfinished work when the scope is left early, and waits for it', async () => {
      let reason: unknown;
      let settled = false;
      await assert.rejects(
        async () => {
          await using g = new Group();
          await g.go((signal) =>
            wait(10_000, signal).catch(() => {
              reason = signal.reason;
              settled = true;
            }),
          );
          throw new Error('scope failed');
        },
        { message: 'scope failed' },
      );
      assert.ok(settled);
      assert.ok(reason instanceof CancelledError);
    });

    it('rejects with a task’s own failure, never with the abort it caused itself', async () => {
      const own = new Error('own');
      const err = await (async () => {
        await using g = new Group();
        await g.go((signal) => wait(10_000, signal)); // rejects with an echo of the abort
        await g.go(async (signal) => {
          await wait(10_000, signal).catch(() => {});
          throw own;
        });
      })().catch((e: unknown) => e);
      assert.equal(err, own);
      const clean = await (async () => {
        await using g = new Group();
        await g.go((signal) => wait(10_000, signal));
      })().then(() => 'clean');
      assert.equal(clean, 'clean');
    });

    it('does nothing more when wait already completed', async () => {
      let aborted = true;
      await (async () => {
        await using g = new Group();
        await g.go(() => tick());
        await g.wait();
        aborted = g.signal.aborted;
      })();
      assert.equal(aborted, false);
    });
  });

  it('lets many running functions listen to its signal without a leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const g = new Group();
      for (let i = 0; i < 40; i++) await g.go((signal) => sleep(1, undefined, { signal }));
      await g.wait();
      await tick();
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings, []);
  });

  it('rejects bad options and non-function tasks with errors that name them', () => {
    assert.throws(
      () => new Group({ limit: 0 }),
      /Group: options.limit must be an integer from 1 to Infinity, got 0/,
    );
    assert.throws(() => new Group({ signal: 'x' as never }), TypeError);
    const g = new Group();
    assert.throws(() => g.go(3 as never), /Group.go: fn must be a function, got 3/);
    assert.throws(() => g.tryGo(null as never), TypeError);
  });
});
