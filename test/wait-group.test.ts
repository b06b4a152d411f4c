import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WaitGroup } from '../src/index.ts';

describe('WaitGroup', () => {
  it('resolves wait once every add has been matched by done', async () => {
    const wg = new WaitGroup();
    wg.add(2);
    let resolved = false;
    const p = wg.wait().then(() => (resolved = true));
    wg.done();
    await sleep(1);
    assert.equal(resolved, false);
    wg.done();
    await p;
    assert.equal(wg.count, 0);
  });

  it('resolves wait at once when the count is zero', async () => {
    await new WaitGroup().wait();
  });

  it('counts functions started with go until they settle', async () => {
    const wg = new WaitGroup();
    const done: number[] = [];
    const release: (() => void)[] = [];
    for (const i of [0, 1]) {
      wg.go(() => new Promise<void>((resolve) => release.push(resolve)).then(() => done.push(i)));
    }
    assert.equal(wg.count, 2);
    release[1]!();
    await sleep(0);
    assert.equal(wg.count, 1);
    release[0]!();
    await wg.wait();
    assert.deepEqual(done, [1, 0]);
    assert.equal(wg.count, 0);
  });

  it('rejects the next wait with the first error thrown by a go function, then is reusable', async () => {
    const wg = new WaitGroup();
    const boom = new Error('boom');
    wg.go(() => {
      throw boom;
    });
    wg.go(() => Promise.reject(new Error('second')));
    await assert.rejects(wg.wait(), boom);
    await wg.wait();
  });

  it('throws a RangeError when the counter would go negative or n is not an integer', () => {
    const wg = new WaitGroup();
    assert.throws(() => wg.done(), /counter would go negative \(-1\)/);
    assert.throws(() => wg.add(0.5), RangeError);
    assert.equal(wg.count, 0);
  });

  it('rejects wait with the reason of an already aborted signal', async () => {
    const wg = new WaitGroup();
    wg.add();
    await assert.rejects(wg.wait({ signal: AbortSignal.abort('gone') }), (e) => e === 'gone');
    assert.equal(wg.count, 1);
  });

  it('rejects wait when its signal aborts and leaves no listener behind', async () => {
    const wg = new WaitGroup();
    wg.add();
    const controller = new AbortController();
    const p = wg.wait({ signal: controller.signal });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    controller.abort('stop');
    await assert.rejects(p, (e) => e === 'stop');
    wg.done();
    const other = new AbortController();
    wg.add();
    const q = wg.wait({ signal: other.signal });
    wg.done();
    await q;
    assert.equal(getEventListeners(other.signal, 'abort').length, 0);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('rejects a bad signal or fn with a TypeError', async () => {
    const wg = new WaitGroup();
    await assert.rejects(wg.wait({ signal: 1 as never }), TypeError);
    assert.throws(() => wg.go('x' as never), /WaitGroup.go: fn must be a function/);
  });
});
