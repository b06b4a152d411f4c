import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import {
  Channel,
  ChannelClosedError,
  type Receivable,
  type Receiver,
  type RecvResult,
  recv,
  select,
  send,
} from '../../src/index.ts';

async function pending(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await tick();
  return !done;
}

/** A one-shot timer as a Receivable: a channel-like that is not a Channel. */
class After implements Receivable<number> {
  #fired = false;
  #receivers: Receiver<number>[] = [];
  constructor(ms: number) {
    setTimeout(() => {
      this.#fired = true;
      const r = this.#receivers.shift();
      r?.deliver(ms, true);
    }, ms);
  }
  tryRecv(): RecvResult<number> | undefined {
    if (!this.#fired) return undefined;
    this.#fired = false;
    return { value: 0, ok: true };
  }
  addReceiver(receiver: Receiver<number>): void {
    this.#receivers.push(receiver);
  }
  removeReceiver(receiver: Receiver<number>): void {
    this.#receivers = this.#receivers.filter((r) => r !== receiver);
  }
}

describe('select', () => {
  it('runs a ready receive at once', async () => {
    const a = new Channel<string>(1);
    const b = new Channel<number>(1);
    await b.send(2);
    assert.deepEqual(await select([recv(a), recv(b)]), { index: 1, value: 2, ok: true });
    assert.equal(b.length, 0);
  });

  it('runs a ready send at once', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>(1);
    assert.deepEqual(await select([send(a, 1), send(b, 2)]), { index: 1 });
    assert.deepEqual(b.tryRecv(), { value: 2, ok: true });
    assert.equal(a.tryRecv(), undefined);
  });

  it('picks uniformly at random among the ready cases', async () => {
    const chans = [new Channel<number>(1), new Channel<number>(1), new Channel<number>(1)];
    const idle = new Channel<number>();
    const counts = [0, 0, 0, 0];
    const rounds = 3000;
    for (let i = 0; i < rounds; i++) {
      for (const ch of chans) if (ch.length === 0) await ch.send(i);
      const r = await select([recv(chans[0]), recv(idle), recv(chans[1]), recv(chans[2])]);
      counts[r.index]++;
    }
    assert.equal(counts[1], 0);
    // Expected 1000 each; 800 is more than 7 standard deviations away.
    for (const i of [0, 2, 3]) assert.ok(counts[i] > 800 && counts[i] < 1200, `counts ${counts}`);
  });

  it('waits for the first case to become ready and runs only that one', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const r = select([recv(a), recv(b)]);
    assert.ok(await pending(r));
    await b.send(5);
    assert.deepEqual(await r, { index: 1, value: 5, ok: true });
    // The select no longer waits on a: its value goes to the next receiver.
    assert.equal(a.trySend(1), false);
  });

  it('completes a waiting send case when a receiver comes, delivering the value once', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const r = select([send(a, 1), send(b, 2)]);
    assert.ok(await pending(r));
    assert.deepEqual(await b.recv(), { value: 2, ok: true });
    assert.deepEqual(await r, { index: 1 });
    assert.equal(a.tryRecv(), undefined, 'the other send case was withdrawn');
  });

  it('never matches its own send and receive cases on one channel', async () => {
    const ch = new Channel<number>();
    const r = select([send(ch, 1), recv(ch)]);
    assert.ok(await pending(r));
    assert.deepEqual(await ch.recv(), { value: 1, ok: true });
    assert.deepEqual(await r, { index: 0 });
    assert.equal(ch.trySend(2), false, 'the receive case was withdrawn');
  });

  it('lets two waiting selects meet each other', async () => {
    const ch = new Channel<number>();
    const sender = select([send(ch, 9), recv(new Channel())]);
    const receiver = await select([recv(new Channel()), recv(ch)]);
    assert.deepEqual(receiver, { index: 1, value: 9, ok: true });
    assert.deepEqual(await sender, { index: 0 });
  });

  it('reports ok false for a receive case on a closed channel', async () => {
    const ch = new Channel<number>();
    const r = select([recv(ch)]);
    ch.close();
    assert.deepEqual(await r, { index: 0, value: undefined, ok: false });
    assert.deepEqual(await select([recv(ch)]), { index: 0, value: undefined, ok: false });
  });

  it('rejects with ChannelClosedError when a send case is chosen on a closed channel', async () => {
    const closed = new Channel<number>();
    closed.close();
    await assert.rejects(select([send(closed, 1)]), ChannelClosedError);
    const ch = new Channel<number>();
    const other = new Channel<number>();
    const r = select([send(ch, 1), recv(other)]);
    ch.close();
    await assert.rejects(r, ChannelClosedError);
    assert.equal(other.trySend(1), false, 'the receive case was withdrawn');
  });

  describe('default', () => {
    it('settles with index -1 when no case is ready, taking nothing', async () => {
      const a = new Channel<number>();
      const b = new Channel<number>();
      assert.deepEqual(await select([recv(a), send(b, 1)], { default: true }), { index: -1 });
      assert.equal(b.tryRecv(), undefined);
      assert.equal(a.trySend(1), false);
    });

    it('still runs a ready case', async () => {
      const a = new Channel<number>(1);
      await a.send(4);
      assert.deepEqual(await select([recv(a)], { default: true }), {
        index: 0,
        value: 4,
        ok: true,
      });
    });

    it('settles an empty select with index -1', async () => {
      assert.deepEqual(await select([], { default: true }), { index: -1 });
    });
  });

  describe('abort', () => {
    it('rejects with an already-aborted signal and runs no case, even a ready one', async () => {
      const a = new Channel<number>(1);
      await a.send(1);
      const reason = new Error('stop');
      await assert.rejects(
        select([recv(a)], { signal: AbortSignal.abort(reason) }),
        (e) => e === reason,
      );
      assert.equal(a.length, 1);
    });

    it('withdraws every case on abort so later values go elsewhere', async () => {
      const a = new Channel<number>();
      const b = new Channel<number>();
      const controller = new AbortController();
      const r = select([recv(a), send(b, 1)], { signal: controller.signal });
      assert.ok(await pending(r));
      controller.abort('gone');
      await assert.rejects(r, (e) => e === 'gone');
      assert.equal(a.trySend(1), false);
      assert.equal(b.tryRecv(), undefined);
    });

    it('waits on an empty select until the signal aborts', async () => {
      const controller = new AbortController();
      const r = select([], { signal: controller.signal });
      assert.ok(await pending(r));
      controller.abort();
      await assert.rejects(r, { name: 'AbortError' });
    });

    it('leaves no abort listeners after it settles in every way', async () => {
      const controller = new AbortController();
      const { signal } = controller;
      const ch = new Channel<number>(1);
      await ch.send(1);
      await select([recv(ch)], { signal });
      await select([recv(ch)], { signal, default: true });
      const won = select([recv(ch), recv(new Channel())], { signal });
      assert.equal(getEventListeners(signal, 'abort').length, 1);
      await ch.send(2);
      await won;
      const closing = new Channel<number>();
      const failed = select([send(closing, 1)], { signal });
      closing.close();
      await assert.rejects(failed, ChannelClosedError);
      assert.equal(getEventListeners(signal, 'abort').length, 0);
      const aborted = select([recv(new Channel()), send(new Channel(), 1)], { signal });
      assert.equal(getEventListeners(signal, 'abort').length, 1);
      controller.abort();
      await assert.rejects(aborted);
      assert.equal(getEventListeners(signal, 'abort').length, 0);
    });
  });

  it('serves any Receivable, not only Channel', async () => {
    const never = new Channel<string>();
    const r = await select([recv(never), recv(new After(5))]);
    assert.deepEqual(r, { index: 1, value: 5, ok: true });
    assert.equal(never.trySend('x'), false);
  });

  describe('arguments', () => {
    it('rejects cases that are not an array of recv() and send() cases', async () => {
      await assert.rejects(select(5 as never), { name: 'TypeError', message: /cases.*5/ });
      await assert.rejects(select([{ kind: 'peek' }] as never), {
        name: 'TypeError',
        message: /cases\[0\]/,
      });
      await assert.rejects(select([{ kind: 'recv', channel: {} }] as never), {
        name: 'TypeError',
        message: /cases\[0\]\.channel.*Receivable/,
      });
    });

    it('rejects bad options naming them', async () => {
      await assert.rejects(select([], { default: 'yes' as never }), {
        name: 'TypeError',
        message: /options\.default.*"yes"/,
      });
      await assert.rejects(select([], { signal: {} as never }), {
        name: 'TypeError',
        message: /options\.signal/,
      });
    });

    it('has recv and send throw a TypeError for something that is not channel-like', () => {
      assert.throws(() => recv(null as never), {
        name: 'TypeError',
        message: /recv: channel.*null/,
      });
      assert.throws(() => send([] as never, 1), {
        name: 'TypeError',
        message: /send: channel.*array/,
      });
    });
  });

  it('narrows value by index for a tuple of cases', async () => {
    const nums = new Channel<number>();
    const strs = new Channel<string>(1);
    await strs.send('s');
    const r = await select([recv(nums), recv(strs), send(new Channel<boolean>(), true)]);
    if (r.index === 1 && r.ok) {
      const s: string = r.value;
      assert.equal(s, 's');
    } else {
      assert.fail(`unexpected ${JSON.stringify(r)}`);
    }
  });
});
