import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Channel, ChannelClosedError } from '../../src/index.ts';

/** Lets every queued promise reaction run. */
const settle = () => tick();

/** Tracks a promise's outcome without awaiting it. */
function track<T>(p: Promise<T>): {
  state: 'pending' | 'fulfilled' | 'rejected';
  value?: T;
  reason?: unknown;
} {
  const t: { state: 'pending' | 'fulfilled' | 'rejected'; value?: T; reason?: unknown } = {
    state: 'pending',
  };
  p.then(
    (value) => {
      t.state = 'fulfilled';
      t.value = value;
    },
    (reason) => {
      t.state = 'rejected';
      t.reason = reason;
    },
  );
  return t;
}

describe('Channel', () => {
  describe('constructor', () => {
    it('defaults to an unbuffered channel', () => {
      const ch = new Channel();
      assert.equal(ch.capacity, 0);
      assert.equal(ch.length, 0);
      assert.equal(ch.closed, false);
    });

    it('rejects a capacity that is negative, fractional, infinite or not a number, naming the value', () => {
      assert.throws(() => new Channel(-1), { name: 'RangeError', message: /capacity.*-1/ });
      assert.throws(() => new Channel(1.5), { name: 'RangeError', message: /capacity.*1\.5/ });
      assert.throws(() => new Channel(Number.POSITIVE_INFINITY), {
        name: 'RangeError',
        message: /Infinity/,
      });
      assert.throws(() => new Channel(Number.NaN), { name: 'RangeError', message: /NaN/ });
      assert.throws(() => new Channel('3' as unknown as number), {
        name: 'TypeError',
        message: /capacity.*"3"/,
      });
    });
  });

  describe('unbuffered', () => {
    it('makes a send wait until a receiver takes the value', async () => {
      const ch = new Channel<number>();
      const sent = track(ch.send(1));
      await settle();
      assert.equal(sent.state, 'pending');
      assert.deepEqual(await ch.recv(), { value: 1, ok: true });
      await settle();
      assert.equal(sent.state, 'fulfilled');
    });

    it('hands a value straight to a waiting receiver', async () => {
      const ch = new Channel<string>();
      const got = ch.recv();
      await ch.send('a');
      assert.deepEqual(await got, { value: 'a', ok: true });
      assert.equal(ch.length, 0);
    });

    it('has trySend fail without a waiting receiver and succeed with one', async () => {
      const ch = new Channel<number>();
      assert.equal(ch.trySend(1), false);
      const got = ch.recv();
      assert.equal(ch.trySend(2), true);
      assert.deepEqual(await got, { value: 2, ok: true });
    });

    it('has tryRecv return undefined without a waiting sender and take from one', async () => {
      const ch = new Channel<number>();
      assert.equal(ch.tryRecv(), undefined);
      const sent = ch.send(5);
      assert.deepEqual(ch.tryRecv(), { value: 5, ok: true });
      await sent;
    });
  });

  describe('buffered', () => {
    it('buffers up to capacity, then makes senders wait', async () => {
      const ch = new Channel<number>(2);
      await ch.send(1);
      await ch.send(2);
      assert.equal(ch.length, 2);
      const third = track(ch.send(3));
      await settle();
      assert.equal(third.state, 'pending');
      assert.equal(ch.trySend(4), false);
      assert.deepEqual(await ch.recv(), { value: 1, ok: true });
      await settle();
      // The freed slot went to the waiting sender.
      assert.equal(third.state, 'fulfilled');
      assert.equal(ch.length, 2);
      assert.deepEqual(await ch.recv(), { value: 2, ok: true });
      assert.deepEqual(await ch.recv(), { value: 3, ok: true });
      assert.equal(ch.tryRecv(), undefined);
    });

    it('delivers values in the order they were sent', async () => {
      const ch = new Channel<number>(64);
      const n = 1000;
      const producer = (async () => {
        for (let i = 0; i < n; i++) await ch.send(i);
        ch.close();
      })();
      const got: number[] = [];
      for await (const v of ch) got.push(v);
      await producer;
      assert.deepEqual(
        got,
        Array.from({ length: n }, (_, i) => i),
      );
    });
  });

  describe('fairness', () => {
    it('serves waiting receivers first-in first-out', async () => {
      const ch = new Channel<number>();
      const a = ch.recv();
      const b = ch.recv();
      const c = ch.recv();
      await ch.send(1);
      await ch.send(2);
      await ch.send(3);
      assert.deepEqual(
        (await Promise.all([a, b, c])).map((r) => r.value),
        [1, 2, 3],
      );
    });

    it('serves waiting senders first-in first-out', async () => {
      const ch = new Channel<number>(1);
      await ch.send(0);
      const sends = [ch.send(1), ch.send(2), ch.send(3)];
      const got: unknown[] = [];
      for (let i = 0; i < 4; i++) got.push((await ch.recv()).value);
      await Promise.all(sends);
      assert.deepEqual(got, [0, 1, 2, 3]);
    });
  });

  describe('close', () => {
    it('wakes every waiting receiver with ok false', async () => {
      const ch = new Channel<number>();
      const waiting = [ch.recv(), ch.recv()];
      ch.close();
      assert.deepEqual(await Promise.all(waiting), [
        { value: undefined, ok: false },
        { value: undefined, ok: false },
      ]);
    });

    it('fails every waiting sender with ChannelClosedError and delivers none of their values', async () => {
      const ch = new Channel<number>(1);
      await ch.send(1);
      const waiting = [ch.send(2), ch.send(3)];
      ch.close();
      for (const p of waiting) await assert.rejects(p, ChannelClosedError);
      assert.deepEqual(await ch.recv(), { value: 1, ok: true });
      assert.deepEqual(await ch.recv(), { value: undefined, ok: false });
    });

    it('lets buffered values drain before receivers see ok false', async () => {
      const ch = new Channel<string>(3);
      await ch.send('a');
      await ch.send('b');
      ch.close();
      assert.equal(ch.closed, true);
      assert.equal(ch.length, 2);
      assert.deepEqual(ch.tryRecv(), { value: 'a', ok: true });
      assert.deepEqual(await ch.recv(), { value: 'b', ok: true });
      assert.deepEqual(ch.tryRecv(), { value: undefined, ok: false });
      assert.deepEqual(await ch.recv(), { value: undefined, ok: false });
    });

    it('makes send, trySend and a second close fail with ChannelClosedError', async () => {
      const ch = new Channel<number>(1);
      ch.close();
      await assert.rejects(ch.send(1), ChannelClosedError);
      assert.throws(() => ch.trySend(1), ChannelClosedError);
      assert.throws(() => ch.close(), {
        name: 'ChannelClosedError',
        code: 'ERR_FANOUT_CHANNEL_CLOSED',
      });
      assert.equal(ch.length, 0);
    });
  });

  describe('abort', () => {
    it('rejects a send with an already-aborted signal and sends nothing, even to a waiting receiver', async () => {
      const ch = new Channel<number>();
      const got = track(ch.recv());
      const reason = new Error('stop');
      await assert.rejects(ch.send(1, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
      await settle();
      assert.equal(got.state, 'pending');
      await ch.send(2);
      await settle();
      assert.deepEqual(got.value, { value: 2, ok: true });
    });

    it('rejects a recv with an already-aborted signal and takes nothing, even when a value is ready', async () => {
      const ch = new Channel<number>(1);
      await ch.send(1);
      const reason = new Error('stop');
      await assert.rejects(ch.recv({ signal: AbortSignal.abort(reason) }), (e) => e === reason);
      assert.equal(ch.length, 1);
    });

    it('withdraws a waiting send on abort so its value is never delivered', async () => {
      const ch = new Channel<number>();
      const controller = new AbortController();
      const sent = ch.send(1, { signal: controller.signal });
      controller.abort('gone');
      await assert.rejects(sent, (e) => e === 'gone');
      assert.equal(ch.tryRecv(), undefined);
      const later = ch.send(2);
      assert.deepEqual(await ch.recv(), { value: 2, ok: true });
      await later;
    });

    it('withdraws a waiting recv on abort so the next value goes to the next receiver', async () => {
      const ch = new Channel<number>();
      const controller = new AbortController();
      const first = ch.recv({ signal: controller.signal });
      const second = ch.recv();
      controller.abort();
      await assert.rejects(first, { name: 'AbortError' });
      await ch.send(7);
      assert.deepEqual(await second, { value: 7, ok: true });
    });

    it('keeps a value that was handed over before the abort', async () => {
      const ch = new Channel<number>();
      const controller = new AbortController();
      const got = ch.recv({ signal: controller.signal });
      await ch.send(3);
      controller.abort();
      assert.deepEqual(await got, { value: 3, ok: true });
    });

    it('leaves no abort listeners after sends and receives settle in every way', async () => {
      const controller = new AbortController();
      const { signal } = controller;
      const ch = new Channel<number>(1);
      // Fast paths.
      await ch.send(1, { signal });
      await ch.recv({ signal });
      // Waiting, then served.
      const r = ch.recv({ signal });
      await ch.send(2, { signal });
      await r;
      await ch.send(3);
      const s = ch.send(4, { signal });
      await ch.recv();
      await s;
      await ch.recv();
      // Waiting, then closed.
      const r2 = ch.recv({ signal });
      ch.close();
      await r2;
      const closing = new Channel<number>();
      const s2 = closing.send(1, { signal });
      closing.close();
      await assert.rejects(s2, ChannelClosedError);
      assert.equal(getEventListeners(signal, 'abort').length, 0);
      // Waiting, then aborted.
      const full = new Channel<number>();
      const empty = new Channel<number>();
      const pending = [full.send(1, { signal }), empty.recv({ signal }), empty.recv({ signal })];
      assert.equal(getEventListeners(signal, 'abort').length, 3);
      controller.abort();
      for (const p of pending) await p.catch(() => {});
      assert.equal(getEventListeners(signal, 'abort').length, 0);
    });

    it('adds at most one listener per waiting operation', async () => {
      const controller = new AbortController();
      const ch = new Channel<number>();
      const waiting = Array.from({ length: 5 }, () => ch.recv({ signal: controller.signal }));
      assert.equal(getEventListeners(controller.signal, 'abort').length, 5);
      ch.close();
      await Promise.all(waiting);
      assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    });
  });

  describe('arguments', () => {
    it('rejects bad options and signals with a TypeError naming them', async () => {
      const ch = new Channel<number>(1);
      await assert.rejects(ch.send(1, 5 as never), {
        name: 'TypeError',
        message: /Channel\.send: options.*5/,
      });
      await assert.rejects(ch.recv({ signal: 'x' as never }), {
        name: 'TypeError',
        message: /Channel\.recv: options\.signal.*"x"/,
      });
      assert.equal(ch.length, 0);
    });
  });

  describe('async iteration', () => {
    it('ends after close once the buffer is drained', async () => {
      const ch = new Channel<number>(4);
      await ch.send(1);
      await ch.send(2);
      ch.close();
      const got: number[] = [];
      for await (const v of ch) got.push(v);
      assert.deepEqual(got, [1, 2]);
    });

    it('consumes nothing more when the loop breaks', async () => {
      const ch = new Channel<number>(4);
      for (const v of [1, 2, 3]) await ch.send(v);
      for await (const v of ch) {
        assert.equal(v, 1);
        break;
      }
      assert.equal(ch.closed, false);
      assert.deepEqual(ch.tryRecv(), { value: 2, ok: true });
      assert.deepEqual(ch.tryRecv(), { value: 3, ok: true });
    });

    it('withdraws a waiting next() on return() without taking a value', async () => {
      const ch = new Channel<number>();
      const it = ch[Symbol.asyncIterator]();
      const pending = it.next();
      assert.deepEqual(await it.return?.(), { value: undefined, done: true });
      assert.deepEqual(await pending, { value: undefined, done: true });
      assert.equal(ch.trySend(1), false, 'no receiver is left waiting');
      assert.deepEqual(await it.next(), { value: undefined, done: true });
    });

    it('serves concurrent next() calls in order', async () => {
      const ch = new Channel<number>();
      const it = ch[Symbol.asyncIterator]();
      const a = it.next();
      const b = it.next();
      await ch.send(1);
      await ch.send(2);
      assert.deepEqual(await a, { value: 1, done: false });
      assert.deepEqual(await b, { value: 2, done: false });
      ch.close();
      assert.deepEqual(await it.next(), { value: undefined, done: true });
    });

    it('serves concurrent next() calls in order between other receivers, and close ends them all', async () => {
      const ch = new Channel<number>();
      const it = ch[Symbol.asyncIterator]();
      const a = it.next();
      const r = ch.recv();
      const b = it.next();
      const c = it.next();
      const d = it.next();
      assert.equal(ch.trySend(1), true);
      assert.equal(ch.trySend(2), true);
      assert.equal(ch.trySend(3), true);
      ch.close();
      assert.deepEqual(await a, { value: 1, done: false });
      assert.deepEqual(await r, { value: 2, ok: true });
      assert.deepEqual(await b, { value: 3, done: false });
      assert.deepEqual(await c, { value: undefined, done: true });
      assert.deepEqual(await d, { value: undefined, done: true });
      assert.deepEqual(await it.next(), { value: undefined, done: true });
    });

    it('shares values among several iterators, each value going to one of them', async () => {
      const ch = new Channel<number>();
      const seen: number[] = [];
      const consumer = async () => {
        for await (const v of ch) {
          seen.push(v);
          await settle();
        }
      };
      const consumers = [consumer(), consumer(), consumer()];
      for (let i = 0; i < 30; i++) await ch.send(i);
      ch.close();
      await Promise.all(consumers);
      assert.deepEqual(
        seen.sort((x, y) => x - y),
        Array.from({ length: 30 }, (_, i) => i),
      );
    });
  });
});
