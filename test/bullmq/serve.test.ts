import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bullmqExecutor, serveTasks } from '../../src/bullmq/index.ts';
import { TaskModuleError } from '../../src/index.ts';
import { threadPool } from '../../src/threads/index.ts';
import { connection, deleteUnder, keysUnder, Redis } from '../fixtures/bullmq-helpers.ts';

const prefix = `test-bullmq-serve-${process.pid}-${Date.now()}`;
const tasks = new URL('../fixtures/bullmq-tasks.ts', import.meta.url);
const redis = new Redis(connection);

after(async () => {
  await deleteUnder(redis, prefix);
  assert.deepEqual(await keysUnder(redis, prefix), []);
  await redis.quit();
});

describe('serveTasks', () => {
  it('serves the named function exports of its module, and nothing else', async () => {
    const server = await serveTasks({ module: tasks, connection, queue: 'list', prefix });
    try {
      assert.ok(server.tasks.includes('double'));
      assert.ok(server.tasks.includes('sleepy'));
      assert.ok(!server.tasks.includes('notATask'));
      assert.equal(server.queue, 'list');
    } finally {
      await server.close();
    }
  });

  it('takes a module path relative to the working directory', async () => {
    const server = await serveTasks({
      module: 'test/fixtures/bullmq-tasks.ts',
      connection,
      queue: 'path',
      prefix,
    });
    await server.close();
  });

  it('rejects with TaskModuleError when the module cannot be loaded', async () => {
    await assert.rejects(
      serveTasks({ module: './no-such-module.ts', connection, queue: 'q', prefix }),
      (err) => {
        assert.ok(err instanceof TaskModuleError);
        assert.match(err.module, /no-such-module\.ts$/);
        assert.ok(err.cause);
        return true;
      },
    );
  });

  it('rejects with TaskModuleError when the module exports no function', async () => {
    await assert.rejects(
      serveTasks({
        module: new URL('../fixtures/bullmq-empty.ts', import.meta.url),
        connection,
        queue: 'q',
        prefix,
      }),
      (err) => err instanceof TaskModuleError && /exports no functions/.test(err.message),
    );
  });

  it('serves the tasks threadPool runs from a CommonJS module: module.exports members and function', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanout-serve-'));
    // Node finds no named exports in these: only their `default` holds the tasks.
    const object = join(dir, 'object.cjs');
    writeFileSync(object, 'const t = {};\nt.square = (x) => x * x;\nmodule.exports = t;\n');
    const fn = join(dir, 'function.cjs');
    writeFileSync(fn, 'module.exports = async function (x) { return x + 1 };\n');
    try {
      for (const [module, name] of [
        [object, 'square'],
        [fn, 'default'],
      ] as const) {
        const pool = threadPool({ module, size: 1 });
        const onThread = await pool
          .task(name)(3)
          .finally(() => pool.close());
        const server = await serveTasks({ module, connection, queue: 'cjs', prefix });
        const cluster = bullmqExecutor({ connection, queue: 'cjs', prefix });
        try {
          assert.ok(server.tasks.includes(name), String(server.tasks));
          assert.equal(await cluster.task(name)(3), onThread);
        } finally {
          await cluster.close();
          await server.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks its arguments', async () => {
    const base = { module: tasks, connection, queue: 'q', prefix };
    await assert.rejects(serveTasks({ ...base, module: 42 as never }), /options.module/);
    await assert.rejects(serveTasks({ ...base, queue: 'a:b' }), /options.queue/);
    await assert.rejects(serveTasks({ ...base, concurrency: 0 }), RangeError);
    await assert.rejects(
      serveTasks({ ...base, concurrency: Number.POSITIVE_INFINITY }),
      RangeError,
    );
    await assert.rejects(serveTasks({ ...base, maxRedeliveries: -1 }), RangeError);
    await assert.rejects(serveTasks({ ...base, connection: 'redis://x' as never }), TypeError);
  });

  it('close() stops taking jobs and lets the running ones finish', async () => {
    const server = await serveTasks({ module: tasks, connection, queue: 'drain', prefix });
    const cluster = bullmqExecutor({ connection, queue: 'drain', prefix });
    try {
      // Timed from the call, not from when the test saw the job active (late,
      // on a busy machine): the job cannot end sooner than 300 ms after it.
      const t0 = performance.now();
      const result = cluster.task('sleepy')({ n: 21, ms: 300 });
      result.catch(() => {}); // a failed assertion below, not this, is the news
      await waitForActive(server);
      await server.close();
      // A timer may fire up to 1 ms early, to the millisecond it counts in.
      assert.ok(performance.now() - t0 >= 299, 'close waited for the running job');
      assert.equal(await result, 42);
      assert.equal(server.close(), server.close());
    } finally {
      await cluster.close();
    }
  });

  it('close({ timeout: 0 }) hands running jobs back for another worker to run', async () => {
    const options = { module: tasks, connection, queue: 'handback', prefix, concurrency: 2 };
    const first = await serveTasks(options);
    const cluster = bullmqExecutor({ connection, queue: 'handback', prefix });
    try {
      const results = [1, 2].map((n) => cluster.task('sleepy')({ n, ms: 1500 }));
      await waitForActive(first, 2);
      await first.close({ timeout: 0 });
      // Had close waited for the jobs, they would be done and gone; they are
      // back in the queue, waiting for the next worker.
      assert.equal(await redis.llen(`${prefix}:handback:active`), 0);
      assert.equal(
        await redis.llen(`${prefix}:handback:wait`),
        2,
        'close did not wait for the jobs',
      );
      const second = await serveTasks(options);
      try {
        assert.deepEqual(await Promise.all(results), [2, 4]);
      } finally {
        await second.close();
      }
    } finally {
      await cluster.close();
    }
  });
});

/** Waits until the server's queue has `n` active jobs; throws after 30 s. */
async function waitForActive(server: { queue: string }, n = 1): Promise<void> {
  const key = `${prefix}:${server.queue}:active`;
  const end = performance.now() + 30_000;
  while ((await redis.llen(key)) < n) {
    if (performance.now() > end) throw new Error(`${n} job(s) did not become active`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
