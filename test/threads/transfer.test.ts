import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fanOut, SerializationError } from '../../src/index.ts';
import { type ThreadPool, threadPool, transfer } from '../../src/threads/index.ts';

const tasks = new URL('../fixtures/threads-tasks.ts', import.meta.url);

describe('transfer', () => {
  let pool: ThreadPool;
  before(async () => {
    pool = threadPool({ module: tasks, size: 2 });
    await pool.ready();
  });
  after(() => pool.close());

  it('moves an input buffer to the thread instead of copying it', async () => {
    const bytes = new Uint8Array(1 << 20).fill(7);
    const n = await pool.task<Uint8Array, number>('byteLength')(transfer(bytes, [bytes.buffer]));
    assert.equal(n, 1 << 20);
    assert.equal(bytes.byteLength, 0, 'the sender’s buffer is detached');
  });

  it('copies an input buffer that is not marked', async () => {
    const bytes = new Uint8Array(16);
    assert.equal(await pool.task('byteLength')(bytes), 16);
    assert.equal(bytes.byteLength, 16);
  });

  it('brings back a buffer that the task module returns through transfer()', async () => {
    const inputs = [0, 1, 2].map((i) => {
      const bytes = new Uint8Array(1024).fill(i);
      return transfer(bytes, [bytes.buffer]);
    });
    const out = await fanOut(inputs, pool.task<Uint8Array, Uint8Array>('invert'));
    out.forEach((bytes, i) => {
      assert.ok(bytes instanceof Uint8Array, 'the value, not the marker');
      assert.equal(bytes.byteLength, 1024);
      assert.ok(bytes.every((b) => b === 255 - i));
    });
  });

  it('fails only the task whose transfer list cannot be moved', async () => {
    const bytes = new Uint8Array(8);
    const bad = transfer(bytes, [{} as ArrayBuffer]);
    const [first, second] = await Promise.allSettled([
      pool.task('byteLength')(bad),
      pool.task('byteLength')(new Uint8Array(4)),
    ]);
    assert.equal(first.status, 'rejected');
    assert.ok((first as PromiseRejectedResult).reason instanceof SerializationError);
    assert.deepEqual(second, { status: 'fulfilled', value: 4 });
  });

  it('checks that the list is an array', () => {
    assert.throws(() => transfer(1, 'x' as never), {
      name: 'TypeError',
      message: /transfer: list must be an array/,
    });
  });
});
