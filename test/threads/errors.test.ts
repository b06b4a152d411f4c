import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  fanOutSettled,
  RemoteTaskError,
  SerializationError,
  WorkerExitedError,
} from '../../src/index.ts';
import { type ThreadPool, threadPool } from '../../src/threads/index.ts';

const tasks = new URL('../fixtures/threads-tasks.ts', import.meta.url);

describe('threadPool errors', () => {
  let pool: ThreadPool;
  before(async () => {
    pool = threadPool({ module: tasks, size: 2, resourceLimits: { maxOldGenerationSizeMb: 64 } });
    await pool.ready();
  });
  after(() => pool.close());

  /** Runs `name` on one thread while a sibling runs on the other; returns both outcomes. */
  async function withSibling(name: string, input: unknown) {
    const [failed, sibling] = await Promise.allSettled([
      pool.task(name)(input),
      pool.task<number, number>('thread')(300),
    ]);
    return { failed, sibling };
  }

  /** The pool still runs tasks on two threads. */
  async function assertHealthy() {
    const settled = await fanOutSettled(Array(6).fill(30), pool.task<number, number>('thread'), {
      concurrency: 6,
    });
    const ids = settled.map((s) => (s.status === 'fulfilled' ? s.value : s.reason));
    assert.ok(
      ids.every((id) => typeof id === 'number'),
      String(ids),
    );
    assert.equal(new Set(ids).size, 2);
  }

  it('recreates a thrown built-in error with its message, remote stack, code and cause', async () => {
    await assert.rejects(pool.task('failRange')('out of range'), (err: unknown) => {
      assert.ok(err instanceof RangeError);
      assert.equal(err.message, 'out of range');
      assert.equal((err as { code?: string }).code, 'E_RANGE');
      assert.match(err.stack ?? '', /at failRange .*threads-tasks\.ts/);
      return true;
    });
  });

  it('keeps own properties and the cause chain of a thrown error', async () => {
    await assert.rejects(pool.task('fail')('bad input'), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.message, 'bad input');
      assert.equal((err as { code?: string }).code, 'E_PARSE');
      assert.equal((err as { line?: number }).line, 7);
      assert.ok(err.cause instanceof TypeError);
      assert.equal(err.cause.message, 'inner');
      assert.match(err.stack ?? '', /at fail .*threads-tasks\.ts/);
      return true;
    });
  });

  it('turns an error of a class it does not know into a RemoteTaskError', async () => {
    await assert.rejects(pool.task('failCustom')('custom'), (err: unknown) => {
      assert.ok(err instanceof RemoteTaskError);
      assert.equal(err.remoteName, 'ParseError');
      assert.equal(err.remoteCode, 'E_PARSE');
      assert.equal(err.message, 'custom');
      assert.match(err.stack ?? '', /^ParseError: custom\n.*at failCustom/s);
      return true;
    });
  });

  it('passes a thrown non-error value as is', async () => {
    await assert.rejects(pool.task('throwString')(null), (err) => err === 'plain string');
  });

  it('fails only the tasks of a thread that crashes on an uncaught error, and replaces it', async () => {
    const { failed, sibling } = await withSibling('crash', null);
    assert.equal(sibling.status, 'fulfilled');
    assert.equal(failed.status, 'rejected');
    const err = (failed as PromiseRejectedResult).reason;
    assert.ok(err instanceof WorkerExitedError);
    assert.equal(err.exitCode, 1);
    assert.match(err.message, /exited with code 1 while holding task "crash"/);
    assert.equal((err.cause as Error).message, 'crash in a callback');
    await assertHealthy();
  });

  it('fails only the tasks of a thread that calls process.exit, with its exit code', async () => {
    const { failed, sibling } = await withSibling('exit', 7);
    assert.equal(sibling.status, 'fulfilled');
    const err = (failed as PromiseRejectedResult).reason;
    assert.ok(err instanceof WorkerExitedError);
    assert.equal(err.exitCode, 7);
    await assertHealthy();
  });

  it('fails only the tasks of a thread that runs out of memory', async () => {
    const { failed, sibling } = await withSibling('oom', null);
    assert.equal(sibling.status, 'fulfilled');
    const err = (failed as PromiseRejectedResult).reason;
    assert.ok(err instanceof WorkerExitedError, String(err));
    assert.equal((err.cause as { code?: string }).code, 'ERR_WORKER_OUT_OF_MEMORY');
    await assertHealthy();
  });

  it('fails a task whose input cannot be cloned with a SerializationError, and only that task', async () => {
    const settled = await fanOutSettled([1, () => 2, 3], pool.task('inc'));
    assert.equal(settled[0]!.status, 'fulfilled');
    assert.equal(settled[2]!.status, 'fulfilled');
    const err = (settled[1] as PromiseRejectedResult).reason;
    assert.ok(err instanceof SerializationError);
    assert.match(err.message, /input of task "inc" \(index 1\) cannot be sent/);
  });

  it('fails a task whose result cannot be cloned with a SerializationError', async () => {
    const settled = await fanOutSettled(['a', 'b'], (x, ctx) =>
      x === 'a' ? pool.task('uncloneableResult')(x, ctx) : pool.task('inc')(1, ctx),
    );
    const err = (settled[0] as PromiseRejectedResult).reason;
    assert.ok(err instanceof SerializationError);
    assert.match(err.message, /result of task "uncloneableResult" \(index 0\) cannot be sent back/);
    assert.deepEqual(settled[1], { status: 'fulfilled', value: 2 });
  });
});
