// Model-based test: random sequences of operations run against a Channel and
// against a plain reference model; after every step, each operation started
// so far must have settled the same way in both.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import { Channel, ChannelClosedError } from '../../src/index.ts';

// How an operation ended, as a string both sides can produce.
type Outcome = string;

interface Model {
  capacity: number;
  buffer: number[];
  closed: boolean;
  senders: { id: number; value: number }[];
  receivers: number[];
  outcomes: Outcome[];
  nextValue: number;
}

interface Real {
  ch: Channel<number>;
  outcomes: Outcome[];
  controllers: AbortController[];
}

const received = (value: number) => `received ${value}`;
const CLOSED = 'received closed';
const SENT = 'sent';
const SEND_FAILED = 'send failed: closed';
const ABORTED = 'aborted';

function start(real: Real, id: number, p: Promise<unknown>, controller: AbortController): void {
  real.outcomes[id] = 'pending';
  real.controllers[id] = controller;
  p.then(
    (r) => {
      const res = r as { value: number; ok: boolean } | undefined;
      real.outcomes[id] = res === undefined ? SENT : res.ok ? received(res.value) : CLOSED;
    },
    (err) => {
      real.outcomes[id] =
        err instanceof ChannelClosedError
          ? SEND_FAILED
          : err === controller.signal.reason
            ? ABORTED
            : `error ${err}`;
    },
  );
}

// The reference: Go's rules written as directly as possible.
function modelSend(m: Model, id: number, value: number): void {
  if (m.closed) m.outcomes[id] = SEND_FAILED;
  else if (m.receivers.length > 0) {
    m.outcomes[m.receivers.shift() as number] = received(value);
    m.outcomes[id] = SENT;
  } else if (m.buffer.length < m.capacity) {
    m.buffer.push(value);
    m.outcomes[id] = SENT;
  } else {
    m.outcomes[id] = 'pending';
    m.senders.push({ id, value });
  }
}

function modelTake(m: Model): number | undefined {
  if (m.buffer.length > 0) {
    const value = m.buffer.shift() as number;
    const s = m.senders.shift();
    if (s) {
      m.buffer.push(s.value);
      m.outcomes[s.id] = SENT;
    }
    return value;
  }
  const s = m.senders.shift();
  if (s) {
    m.outcomes[s.id] = SENT;
    return s.value;
  }
  return undefined;
}

class Send implements fc.AsyncCommand<Model, Real> {
  constructor(readonly preAborted: boolean) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const id = m.outcomes.length;
    const value = m.nextValue++;
    const controller = new AbortController();
    if (this.preAborted) {
      controller.abort();
      m.outcomes[id] = ABORTED;
    } else modelSend(m, id, value);
    start(r, id, r.ch.send(value, { signal: controller.signal }), controller);
    await compare(m, r);
  }
  toString = () => `send${this.preAborted ? '(aborted)' : ''}`;
}

class Recv implements fc.AsyncCommand<Model, Real> {
  constructor(readonly preAborted: boolean) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const id = m.outcomes.length;
    const controller = new AbortController();
    if (this.preAborted) {
      controller.abort();
      m.outcomes[id] = ABORTED;
    } else {
      const value = modelTake(m);
      if (value !== undefined) m.outcomes[id] = received(value);
      else if (m.closed) m.outcomes[id] = CLOSED;
      else {
        m.outcomes[id] = 'pending';
        m.receivers.push(id);
      }
    }
    start(r, id, r.ch.recv({ signal: controller.signal }), controller);
    await compare(m, r);
  }
  toString = () => `recv${this.preAborted ? '(aborted)' : ''}`;
}

class TrySend implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const value = m.nextValue++;
    let expected: boolean | 'closed';
    if (m.closed) expected = 'closed';
    else if (m.receivers.length > 0) {
      m.outcomes[m.receivers.shift() as number] = received(value);
      expected = true;
    } else if (m.buffer.length < m.capacity) {
      m.buffer.push(value);
      expected = true;
    } else expected = false;
    let actual: boolean | 'closed';
    try {
      actual = r.ch.trySend(value);
    } catch (err) {
      assert.ok(err instanceof ChannelClosedError);
      actual = 'closed';
    }
    assert.equal(actual, expected);
    await compare(m, r);
  }
  toString = () => 'trySend';
}

class TryRecv implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const value = modelTake(m);
    const expected =
      value !== undefined
        ? { value, ok: true }
        : m.closed
          ? { value: undefined, ok: false }
          : undefined;
    assert.deepEqual(r.ch.tryRecv(), expected);
    await compare(m, r);
  }
  toString = () => 'tryRecv';
}

class Close implements fc.AsyncCommand<Model, Real> {
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    if (m.closed) {
      assert.throws(() => r.ch.close(), ChannelClosedError);
    } else {
      m.closed = true;
      for (const id of m.receivers) m.outcomes[id] = CLOSED;
      for (const s of m.senders) m.outcomes[s.id] = SEND_FAILED;
      m.receivers = [];
      m.senders = [];
      r.ch.close();
    }
    await compare(m, r);
  }
  toString = () => 'close';
}

class Abort implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(m: Model, r: Real): Promise<void> {
    const waiting = [...m.receivers, ...m.senders.map((s) => s.id)];
    if (waiting.length > 0) {
      const id = waiting[this.pick % waiting.length];
      m.receivers = m.receivers.filter((x) => x !== id);
      m.senders = m.senders.filter((s) => s.id !== id);
      m.outcomes[id] = ABORTED;
      r.controllers[id].abort();
    }
    await compare(m, r);
  }
  toString = () => `abort(${this.pick})`;
}

async function compare(m: Model, r: Real): Promise<void> {
  await tick();
  assert.deepEqual(r.outcomes, m.outcomes);
  assert.equal(r.ch.length, m.buffer.length);
  assert.equal(r.ch.closed, m.closed);
  // Only operations still waiting hold a listener.
  for (let id = 0; id < r.controllers.length; id++) {
    const listeners = getEventListeners(r.controllers[id].signal, 'abort').length;
    assert.equal(listeners, m.outcomes[id] === 'pending' ? 1 : 0, `listeners of operation ${id}`);
  }
}

const commands = fc.commands(
  [
    fc.boolean().map((a) => new Send(a)),
    fc.boolean().map((a) => new Recv(a)),
    fc.constant(new TrySend()),
    fc.constant(new TryRecv()),
    fc.nat(20).map((k) => new Abort(k)),
    // Rare, so that most runs spend a while open.
    fc.constantFrom(
      ...Array.from({ length: 8 }, (_, i) => (i === 0 ? new Close() : new TryRecv())),
    ),
  ],
  { maxCommands: 60 },
);

describe('Channel (model)', () => {
  it('behaves like the reference model over random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(3), commands, async (capacity, cmds) => {
        const model: Model = {
          capacity,
          buffer: [],
          closed: false,
          senders: [],
          receivers: [],
          outcomes: [],
          nextValue: 0,
        };
        const real: Real = { ch: new Channel<number>(capacity), outcomes: [], controllers: [] };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
      }),
      { numRuns: 300 },
    );
  });

  it('loses and duplicates nothing when for-await consumers break out at random points', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(3),
        fc.array(fc.nat(8), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 40 }),
        async (capacity, breakAfter, n) => {
          const ch = new Channel<number>(capacity);
          const got: number[] = [];
          const consumers = breakAfter.map(async (k) => {
            let i = 0;
            for await (const v of ch) {
              got.push(v);
              if (++i > k) break;
              if (v % 3 === 0) await tick();
            }
          });
          const stop = new AbortController();
          const sent: number[] = [];
          const producer = (async () => {
            for (let v = 0; v < n; v++) {
              await ch.send(v, { signal: stop.signal });
              sent.push(v);
            }
            ch.close();
          })().catch((err) => assert.equal(err, stop.signal.reason));
          await Promise.all(consumers);
          stop.abort();
          await producer;
          for (let r = ch.tryRecv(); r?.ok; r = ch.tryRecv()) got.push(r.value);
          assert.deepEqual(
            got.sort((a, b) => a - b),
            sent,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
