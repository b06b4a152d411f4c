import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Group } from '../../src/group.ts';
import { fanOut, TaskModuleError } from '../../src/index.ts';
import { type ThreadPool, threadPool } from '../../src/threads/index.ts';
import { startedFlag, untilStarted } from '../fixtures/threads-helpers.ts';

const tasks = new URL('../fixtures/threads-tasks.ts', import.meta.url);

describe('threadPool', () => {
  let pool: ThreadPool;
  before(async () => {
    pool = threadPool({ module: tasks, size: 2 });
    await pool.ready();
  });
  after(() => pool.close());

  it('runs a named export on a thread and resolves with its result', async () => {
    assert.equal(await pool.task<number, number>('inc')(41), 42);
  });

  it('keeps input order in fanOut across threads, for any inputs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 300 }), async (xs) => {
        const out = await fanOut(xs, pool.task<number, number>('inc'), { concurrency: 64 });
        assert.deepEqual(
          out,
          xs.map((x) => x + 1),
        );
      }),
      { numRuns: 20 },
    );
  });

  it('runs many tiny tasks in batches and gets every result right', async () => {
    const xs = Array.from({ length: 20_000 }, (_, i) => i);
    const out = await fanOut(xs, pool.task<number, number>('inc'), { concurrency: 1024 });
    assert.equal(out.length, xs.length);
    assert.ok(out.every((v, i) => v === i + 1));
  });

  it('settles async exports too', async () => {
    const out = await fanOut([1, 2, 3, 4], pool.task<number, number>('incLater'));
    assert.deepEqual(out, [2, 3, 4, 5]);
  });

  it('passes the index and attempt of the caller context to the export', async () => {
    const out = await fanOut(['a', 'b', 'c'], pool.task('context'));
    assert.deepEqual(out, [
      { index: 0, attempt: 1 },
      { index: 1, attempt: 1 },
      { index: 2, attempt: 1 },
    ]);
    assert.deepEqual(await pool.task('context')(null), { index: 0, attempt: 1 });
  });

  it('retries on threads with the attempt counted in the context', async () => {
    let calls = 0;
    const flaky = async (x: number, ctx: Parameters<ReturnType<typeof pool.task>>[1]) => {
      const r = (await pool.task('context')(x, ctx)) as { attempt: number };
      if (++calls === 1) throw new Error('first try fails');
      return r.attempt;
    };
    assert.deepEqual(await fanOut([1], flaky, { retry: { attempts: 2, backoff: 0 } }), [2]);
  });

  it('spreads CPU-bound tasks over every thread', async () => {
    const ids = await fanOut(Array(8).fill(20), pool.task<number, number>('thread'), {
      concurrency: 8,
    });
    assert.equal(new Set(ids).size, 2);
  });

  it('works as the function of a Group', async () => {
    const g = new Group();
    const out: number[] = [];
    for (const x of [1, 2, 3]) {
      await g.go(async (signal) => {
        out.push(await pool.task<number, number>('inc')(x, { signal }));
      });
    }
    await g.wait();
    assert.deepEqual(
      out.sort((a, b) => a - b),
      [2, 3, 4],
    );
  });

  it('rejects with a TaskModuleError naming the module and the missing export', async () => {
    await assert.rejects(pool.task('nope')(1), (err: unknown) => {
      assert.ok(err instanceof TaskModuleError);
      assert.equal(err.task, 'nope');
      assert.equal(err.module, tasks.href);
      assert.match(
        err.message,
        /threads-tasks\.ts has no function export "nope"; its functions are: /,
      );
      assert.match(err.message, /[:,] inc(,|$)/);
      return true;
    });
    await assert.rejects(pool.task('notAFunction')(1), TaskModuleError);
  });

  it('checks its arguments and names the bad one', () => {
    assert.throws(
      () => threadPool({ module: 42 as never }),
      /options\.module must be a file URL or a path, got number/,
    );
    assert.throws(() => threadPool(undefined as never), TypeError);
    assert.throws(() => threadPool({ module: tasks, size: 0 }), {
      name: 'RangeError',
      message: /options\.size must be an integer >= 1, got 0/,
    });
    assert.throws(() => threadPool({ module: tasks, size: 1.5 }), RangeError);
    assert.throws(() => threadPool({ module: tasks, abortGrace: -1 }), /options\.abortGrace/);
    assert.throws(() => pool.task(7 as never), /pool\.task: name must be a string, got 7/);
    assert.throws(() => pool.task(''), TypeError);
  });
});

describe('threadPool modules', () => {
  it('fails every task with a TaskModuleError when the module does not load', async () => {
    const broken = new URL('../fixtures/threads-broken.ts', import.meta.url);
    const pool = threadPool({ module: broken, size: 1 });
    try {
      await assert.rejects(pool.task('x')(1), (err: unknown) => {
        assert.ok(err instanceof TaskModuleError);
        assert.equal(err.module, broken.href);
        assert.match(
          err.message,
          /cannot load the task module .*threads-broken\.ts: this module does not load/,
        );
        assert.equal((err.cause as Error).message, 'this module does not load');
        return true;
      });
      await assert.rejects(pool.ready(), TaskModuleError);
      await assert.rejects(pool.task('x')(2), TaskModuleError);
    } finally {
      await pool.close();
    }
  });

  it('fails with a TaskModuleError when the module does not exist', async () => {
    const pool = threadPool({ module: './test/fixtures/threads-missing.js', size: 1 });
    try {
      await assert.rejects(
        pool.task('x')(1),
        /cannot load the task module file:.*threads-missing\.js/,
      );
    } finally {
      await pool.close();
    }
  });

  it('imports the setup module in each thread before the task module', async () => {
    const pool = threadPool({
      module: new URL('../fixtures/threads-setup-tasks.ts', import.meta.url),
      setup: new URL('../fixtures/threads-setup.ts', import.meta.url),
      size: 1,
    });
    try {
      assert.equal(await pool.task('setupRan')(null), true);
    } finally {
      await pool.close();
    }
  });

  it('names the setup module when it does not load', async () => {
    const pool = threadPool({ module: tasks, setup: './test/fixtures/threads-broken.ts', size: 1 });
    try {
      await assert.rejects(pool.ready(), /cannot load the setup module .*threads-broken\.ts/);
    } finally {
      await pool.close();
    }
  });

  it('rejects tasks handed to it after close', async () => {
    const pool = threadPool({ module: tasks, size: 1 });
    const pending = pool.task('inc')(1);
    const closed = pool.close();
    assert.equal(pool.close(), closed);
    await assert.rejects(pool.task('inc')(1), {
      name: 'CancelledError',
      message: /pool is closed/,
    });
    assert.equal(await pending, 2, 'close lets handed-over tasks finish');
    await closed;
  });

  it('defaults its size to the available parallelism', async () => {
    const { availableParallelism } = await import('node:os');
    await using pool = threadPool({ module: tasks });
    assert.equal(pool.size, availableParallelism());
  });
});

describe('threadPool scheduling', () => {
  it('moves a task waiting behind a long one to a thread that went idle', async () => {
    await using pool = threadPool({ module: tasks, size: 2 });
    await pool.ready();
    const thread = pool.task<number, number>('thread');
    const controller = new AbortController();
    const reason = new Error('done waiting');
    // One message per thread: [long, short] and [short, short]. The long one
    // spins until aborted, which comes only once the short one behind it
    // finished: that one can finish only by moving to the other thread.
    const long = pool.task('spinUntilAborted')(null, { signal: controller.signal });
    long.catch(() => {});
    const [behind, ...others] = [thread(20), thread(20), thread(20)];
    let timer: NodeJS.Timeout | undefined;
    try {
      const behindId = await Promise.race([
        behind,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error('the task behind the long one did not move within 30 s')),
            30_000,
          );
        }),
      ]);
      const otherIds = await Promise.all(others);
      assert.ok(otherIds.includes(behindId), 'it ran on the other thread');
    } finally {
      clearTimeout(timer);
      controller.abort(reason);
    }
    await assert.rejects(long, (err) => err === reason);
  });
});

describe('ThreadPool.close', () => {
  it('fails held tasks with the reason and ends the threads when its signal aborts', async () => {
    const pool = threadPool({ module: tasks, size: 1 });
    const started = startedFlag();
    const stubborn = pool.task('spinMarked')({ ms: 60_000, started }); // ignores every signal
    const queued = pool.task('inc')(1);
    await untilStarted(started);
    const controller = new AbortController();
    const closing = pool.close({ signal: controller.signal });
    const reason = new Error('stop waiting');
    const failed = Promise.all([
      assert.rejects(stubborn, (err) => err === reason),
      assert.rejects(queued, (err) => err === reason),
    ]);
    const t0 = performance.now();
    controller.abort(reason);
    await closing;
    // Far below the 60 s the stubborn task would spin for.
    assert.ok(performance.now() - t0 < 20_000);
    await failed;
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('ends the threads at once with an already-aborted signal', async () => {
    const pool = threadPool({ module: tasks, size: 1 });
    const running = pool.task('spin')(60_000);
    const reason = new Error('now');
    const failed = assert.rejects(running, (err) => err === reason);
    await pool.close({ signal: AbortSignal.abort(reason) });
    await failed;
  });

  it('leaves no listener on a signal that never aborts', async () => {
    const pool = threadPool({ module: tasks, size: 1 });
    const { signal } = new AbortController();
    assert.equal(await pool.task('inc')(1), 2);
    await pool.close({ signal });
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  it('checks its options', async () => {
    await using pool = threadPool({ module: tasks, size: 1 });
    assert.throws(
      () => pool.close({ signal: 'x' as never }),
      /pool\.close: options\.signal must be an AbortSignal/,
    );
  });
});
