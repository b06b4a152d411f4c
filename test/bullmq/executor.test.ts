import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { bullmqExecutor } from '../../src/bullmq/index.ts';
import {
  CancelledError,
  FanoutError,
  fanOut,
  Group,
  pipeline,
  RemoteTaskError,
  SerializationError,
  TaskModuleError,
} from '../../src/index.ts';
import {
  callKeys,
  connection,
  deleteUnder,
  keysUnder,
  type Proc,
  Redis,
  spawnFixture,
  spawnWorker,
  stop,
  until,
} from '../fixtures/bullmq-helpers.ts';

// Every key this file makes is under this prefix; the last test checks
// that none is left.
const LONG_LOCKS = { lockDuration: 30_000, stalledInterval: 30_000 };
const prefix = `test-bullmq-exec-${process.pid}-${Date.now()}`;
const redis = new Redis(connection);
after(async () => {
  await deleteUnder(redis, prefix);
  await redis.quit();
});

describe('bullmqExecutor', () => {
  let workers: Proc[] = [];
  const cluster = bullmqExecutor({ connection, queue: 'main', prefix });

  before(async () => {
    // No test here needs a stalled job noticed, and with spawnWorker's 1 s
    // lock a worker slowed down by a busy machine could lose a running job
    // to the other, which would then start it (and log 'started') again.
    const options = { queue: 'main', prefix, concurrency: 10, ...LONG_LOCKS };
    workers = await Promise.all([0, 1].map(() => spawnWorker(options)));
  });

  after(async () => {
    await cluster.close();
    await Promise.all(workers.map((w) => stop(w)));
  });

  // No worker serves this queue: a job added to it would stay, and show.
  const unserved = bullmqExecutor({ connection, queue: 'unserved', prefix });
  after(() => unserved.close());
  const jobKeys = () => callKeys(redis, `${prefix}:unserved`);
  const events = (name: string) => workers.flatMap((w) => w.events.filter((e) => e.event === name));
  const clearEvents = () => {
    for (const w of workers) w.events.length = 0;
  };

  it('returns results in input order for thousands of tasks over two worker processes', async () => {
    const inputs = Array.from({ length: 3000 }, (_, i) => i);
    const out = await fanOut(inputs, cluster.task<number, { n: number; pid: number }>('pid'), {
      concurrency: 500,
    });
    assert.deepEqual(
      out.map((o) => o.n),
      inputs.map((i) => i * 2),
    );
    assert.deepEqual(new Set(out.map((o) => o.pid)), new Set(workers.map((w) => w.pid)));
  });

  it('hands the task its index, attempt 1 and the job id as its key', async () => {
    const out = await fanOut([0, 1, 2], cluster.task<number, Record<string, unknown>>('context'));
    assert.deepEqual(
      out.map((o) => [o.index, o.attempt, o.aborted]),
      [
        [0, 1, false],
        [1, 1, false],
        [2, 1, false],
      ],
    );
    assert.equal(new Set(out.map((o) => o.key)).size, 3);
  });

  it('fails fast: the first error rejects the call and aborts running jobs on both workers', async () => {
    clearEvents();
    const block = cluster.task('block');
    const fail = cluster.task('fail');
    const inputs = Array.from({ length: 20 }, (_, i) => i);
    const failed = fanOut(
      inputs,
      async (i, ctx) => {
        if (i !== 0) return block(i, ctx);
        // Fails once every other job runs (not after a fixed time, which a busy
        // machine may need to start them): each then has a signal to abort.
        await until(() => events('started').length === inputs.length - 1);
        return fail({ ms: 0, message: 'boom', code: 'E_BOOM' }, ctx);
      },
      { concurrency: 20 },
    );
    await assert.rejects(failed, (err: Error & { code?: string }) => {
      assert.ok(err instanceof TypeError);
      assert.equal(err.message, 'boom');
      assert.equal(err.code, 'E_BOOM');
      assert.match(err.stack ?? '', /bullmq-tasks\.ts/);
      return true;
    });
    // Every running job saw its signal abort before the call settled.
    const aborted = events('aborted');
    assert.deepEqual(
      aborted.map((e) => e.index).sort((a, b) => a! - b!),
      inputs.slice(1),
    );
    assert.equal(new Set(aborted.map((e) => e.pid)).size, 2);
    const failedAt = events('failing')[0]!.at;
    // Generous: the bench measures the real latency.
    assert.ok(Math.max(...aborted.map((e) => e.at)) - failedAt < 5000);
  });

  it('rejects with the reason when the caller aborts, after the running jobs abort', async () => {
    clearEvents();
    const controller = new AbortController();
    const reason = new Error('stop');
    const call = fanOut(
      Array.from({ length: 20 }, (_, i) => i),
      cluster.task('block'),
      {
        concurrency: 20,
        signal: controller.signal,
      },
    );
    await until(() => events('started').length === 20);
    controller.abort(reason);
    await assert.rejects(call, (err) => err === reason);
    assert.equal(events('aborted').length, 20);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('withdraws waiting jobs when the call is cancelled', async () => {
    clearEvents();
    const controller = new AbortController();
    const call = fanOut(
      Array.from({ length: 60 }, (_, i) => i),
      cluster.task('block'),
      {
        concurrency: 60,
        signal: controller.signal,
      },
    );
    await until(() => events('started').length === 20);
    controller.abort();
    await assert.rejects(call, { name: 'AbortError' });
    await delay(300);
    // 20 slots on two workers: the other 40 jobs never ran, and are gone.
    assert.equal(events('started').length, 20);
    await until(async () => (await callKeys(redis, prefix)).length === 0);
  });

  it('refuses a task name the module does not export', async () => {
    for (const name of ['nope', 'notATask', 'constructor', '__proto__', 'toString']) {
      await assert.rejects(cluster.task(name)(1), (err) => {
        assert.ok(err instanceof TaskModuleError, String(err));
        assert.equal(err.task, name);
        assert.match(err.module, /bullmq-tasks\.ts$/);
        return true;
      });
    }
  });

  it('brings back an unknown error class as RemoteTaskError with its name, code, stack and cause', async () => {
    await assert.rejects(cluster.task('custom')(null), (err) => {
      assert.ok(err instanceof RemoteTaskError);
      assert.equal(err.remoteName, 'QuotaError');
      assert.equal(err.message, 'over quota');
      assert.equal(err.remoteCode, 'E_QUOTA');
      assert.equal((err as unknown as { limit: number }).limit, 3);
      assert.match(err.stack ?? '', /QuotaError: over quota/);
      assert.ok(err.cause instanceof RangeError);
      assert.equal(err.cause.message, '3 > 2');
      return true;
    });
  });

  it('fails a task whose input JSON cannot carry with SerializationError, adding no job', async () => {
    const echo = unserved.task('echo');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const input of [
      1n,
      { f: () => 1 },
      new Map([[1, 2]]),
      new Set([1]),
      cyclic,
      Symbol('s'),
    ]) {
      await assert.rejects(echo(input), SerializationError);
    }
    assert.deepEqual(await jobKeys(), []);
    assert.deepEqual(await cluster.task('echo')({ a: [1, 'x', null], d: new Date(0) }), {
      a: [1, 'x', null],
      d: '1970-01-01T00:00:00.000Z',
    });
  });

  it('fails a task whose input or output is larger than maxPayload with SerializationError', async () => {
    const small = bullmqExecutor({ connection, queue: 'main', prefix, maxPayload: 1000 });
    try {
      await assert.rejects(small.task('echo')('x'.repeat(1000)), /more than the limit of 1000/);
      assert.equal(await small.task('big')(900), 'x'.repeat(900));
      await assert.rejects(small.task('big')(2000), (err) => {
        assert.ok(err instanceof SerializationError);
        assert.match(err.message, /output is 2002 bytes/);
        return true;
      });
    } finally {
      await small.close();
    }
  });

  it('fails a task whose output JSON cannot carry with SerializationError', async () => {
    await assert.rejects(cluster.task('unserialisable')(null), (err) => {
      assert.ok(err instanceof SerializationError);
      assert.match(err.message, /bigint at key "when"/);
      return true;
    });
  });

  it('rejects at once with the reason of an already-aborted signal, adding no job', async () => {
    const reason = new Error('already');
    const signal = AbortSignal.abort(reason);
    await assert.rejects(
      unserved.task('double')(1, { signal, index: 0, attempt: 1 }),
      (e) => e === reason,
    );
    assert.equal(getEventListeners(signal, 'abort').length, 0);
    assert.deepEqual(await jobKeys(), []);
  });

  it('leaves no listener on the task signal once its tasks settle or abort', async () => {
    const controller = new AbortController();
    const ctx = { signal: controller.signal, index: 0, attempt: 1 };
    const double = cluster.task<number, number>('double');
    assert.deepEqual(await Promise.all([double(1, ctx), double(2, ctx)]), [2, 4]);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const blocked = cluster.task('block')(0, ctx);
    await delay(200);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    controller.abort();
    await assert.rejects(blocked, { name: 'AbortError' });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  // These two use indices of their own: late log lines of earlier tests must not count.
  const at = (index: number) => ({ signal: new AbortController().signal, index, attempt: 1 });
  const from = (name: string, first: number) => events(name).filter((e) => e.index! >= first);

  it('close() cancels the tasks still out and waits until their jobs stop', async () => {
    const other = bullmqExecutor({ connection, queue: 'main', prefix });
    const outcomes = [100, 101, 102].map((i) =>
      other
        .task('block')(i, at(i))
        .then(
          () => 'resolved',
          (err: unknown) => err,
        ),
    );
    await until(() => from('started', 100).length === 3);
    await other.close();
    assert.equal(from('aborted', 100).length, 3);
    for (const o of await Promise.all(outcomes)) assert.ok(o instanceof CancelledError, String(o));
    await assert.rejects(other.task('double')(1), /executor is closed/);
  });

  it('fails its tasks with a FanoutError when its own heartbeat lapsed, and workers drop them', async () => {
    // Not shorter: a test process that a busy machine holds up for a good
    // part of the heartbeat would see it lapse before the job even started.
    const heartbeat = 500;
    const stalling = bullmqExecutor({ connection, queue: 'main', prefix, heartbeat });
    try {
      const task = stalling.task('block')(0, at(200));
      task.catch(() => {}); // an early lapse shows as the job never starting
      await until(() => from('started', 200).length === 1);
      const end = Date.now() + 3 * heartbeat;
      while (Date.now() < end) {} // a blocked event loop: the heartbeat expires
      await assert.rejects(
        task,
        (err) => err instanceof FanoutError && /heartbeat expired/.test(err.message),
      );
      await until(() => from('aborted', 200).length === 1);
    } finally {
      await stalling.close();
    }
  });

  it('still closes when its heartbeat lapses while close waits for the tasks out', async () => {
    const heartbeat = 500;
    const stalling = bullmqExecutor({ connection, queue: 'main', prefix, heartbeat });
    const task = stalling.task('block')(0, at(210));
    task.catch(() => {});
    await until(() => from('started', 210).length === 1);
    const closing = stalling.close();
    const end = Date.now() + 3 * heartbeat;
    while (Date.now() < end) {} // a blocked event loop: the heartbeat expires
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise((resolve) => {
      timer = setTimeout(() => resolve('hung'), 20_000);
    });
    assert.equal(await Promise.race([closing.then(() => 'closed'), hung]), 'closed');
    clearTimeout(timer);
  });

  it('works as a Group task and as a pipeline stage', async () => {
    const double = cluster.task<number, number>('double');
    const group = new Group({ limit: 4 });
    const out: number[] = [];
    for (let i = 0; i < 8; i++) {
      await group.go(async (signal) => {
        out[i] = await double(i, { signal, index: i, attempt: 1 });
      });
    }
    await group.wait();
    assert.deepEqual(out, [0, 2, 4, 6, 8, 10, 12, 14]);
    const piped = await pipeline([1, 2, 3, 4]).map(double, { concurrency: 2 }).toArray();
    assert.deepEqual(piped, [2, 4, 6, 8]);
  });

  it('leaves no keys of its own once a call settles', async () => {
    await fanOut([1, 2, 3], cluster.task('double'));
    await until(async () => (await callKeys(redis, prefix)).length === 0);
  });

  it('checks its arguments', () => {
    assert.throws(() => bullmqExecutor({ connection, queue: 'a:b' }), /options.queue .* got "a:b"/);
    assert.throws(() => bullmqExecutor({ connection, queue: '' }), TypeError);
    assert.throws(() => bullmqExecutor({ queue: 'q' } as never), /options.connection/);
    assert.throws(() => bullmqExecutor({ connection, queue: 'q', attempts: 0 }), RangeError);
    assert.throws(() => bullmqExecutor({ connection, queue: 'q', maxPayload: -1 }), RangeError);
    assert.throws(
      () =>
        bullmqExecutor({ connection, queue: 'q', backoff: { type: 'linear', delay: 1 } as never }),
      /backoff.type/,
    );
    assert.throws(() => cluster.task(''), TypeError);
    assert.throws(() => cluster.task('x', { key: 'k' as never }), /options.key/);
  });
});

describe('bullmqExecutor with failing machines', () => {
  const queues = { kill: 'kill', orphan: 'orphan', retry: 'retry' };

  after(async () => {
    await deleteUnder(redis, prefix).catch(() => {});
  });

  it('delivers every result exactly once when a worker is SIGKILLed mid-run', async () => {
    const options = { queue: queues.kill, prefix, concurrency: 5 };
    const [a, b] = await Promise.all([spawnWorker(options), spawnWorker(options)]);
    const cluster = bullmqExecutor({ connection, queue: queues.kill, prefix });
    try {
      const inputs = Array.from({ length: 40 }, (_, n) => ({ n, ms: 200 }));
      let settled = 0;
      const sleepy = cluster.task<{ n: number; ms: number }, number>('sleepy');
      const call = fanOut(
        inputs,
        async (input, ctx) => {
          const v = await sleepy(input, ctx);
          settled++;
          return v;
        },
        { concurrency: 40 },
      );
      await until(() => a!.events.filter((e) => e.event === 'started').length >= 5);
      a!.child.kill('SIGKILL');
      const out = await call;
      assert.deepEqual(
        out,
        inputs.map(({ n }) => n * 2),
      );
      assert.equal(settled, 40);
      // Jobs the killed worker was running were run again on the other one.
      // (Its last log lines may die with it, so not every one can be named.)
      const doneOnA = new Set(a!.events.filter((e) => e.event === 'done').map((e) => e.n));
      const doneOnB = new Set(b!.events.filter((e) => e.event === 'done').map((e) => e.n));
      const rerun = a!.events.filter(
        (e) => e.event === 'started' && !doneOnA.has(e.n) && doneOnB.has(e.n),
      );
      assert.ok(rerun.length > 0, 'no job of the killed worker ran again');
    } finally {
      await cluster.close();
      await Promise.all([stop(a!), stop(b!)]);
    }
  });

  it('drops the jobs of a caller process that died', async () => {
    const worker = await spawnWorker({
      queue: queues.orphan,
      prefix,
      concurrency: 2,
      ...LONG_LOCKS, // as in 'main': the exact count of started jobs counts
    });
    try {
      const caller = await spawnFixture('./bullmq-caller.ts', {
        FANOUT_CALLER: JSON.stringify({ queue: queues.orphan, prefix, count: 30, heartbeat: 1000 }),
      });
      await until(() => worker.events.filter((e) => e.event === 'started').length === 2);
      await stop(caller, 'SIGKILL');
      // The running jobs abort, the waiting ones are dropped unrun, and the
      // heartbeat expires: nothing of the dead caller remains.
      await until(() => worker.events.filter((e) => e.event === 'aborted').length === 2);
      await until(async () => (await callKeys(redis, prefix)).length === 0);
      assert.ok(worker.events.filter((e) => e.event === 'started').length <= 4);
    } finally {
      await stop(worker);
    }
  });

  it('retries a failing task as BullMQ attempts, with ctx.attempt and a stable key', async () => {
    const worker = await spawnWorker({ queue: queues.retry, prefix, concurrency: 2 });
    const cluster = bullmqExecutor({
      connection,
      queue: queues.retry,
      prefix,
      attempts: 3,
      backoff: 10,
    });
    try {
      const flaky = cluster.task<{ failures: number }, Record<string, unknown>>('flaky');
      const r = await flaky({ failures: 2 });
      assert.equal(r.attempt, 3);
      assert.deepEqual(r.attempts, [1, 2, 3]);
      const keyed = cluster.task<{ failures: number }, Record<string, unknown>>('flaky', {
        key: (_, ctx) => `order-${ctx.index}`,
      });
      const k = await keyed(
        { failures: 1 },
        { signal: new AbortController().signal, index: 7, attempt: 1 },
      );
      assert.equal(k.key, 'order-7');
      assert.deepEqual(k.attempts, [1, 2]);
      const once = cluster.task('flaky', { attempts: 2 });
      await assert.rejects(once({ failures: 5 }), { name: 'Error', message: 'attempt 2 failed' });
    } finally {
      await cluster.close();
      await stop(worker);
    }
  });

  it('leaves no keys under its prefix once everything is closed', async () => {
    await until(async () => (await callKeys(redis, prefix)).length === 0);
    await deleteUnder(redis, prefix);
    assert.deepEqual(await keysUnder(redis, prefix), []);
  });
});
