// Random races: several senders and receivers meet over a few channels
// through select (and plain send), with random aborts. Every value whose send
// succeeded arrives exactly once; no aborted send's value arrives at all;
// no listener is left behind.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import fc from 'fast-check';
import { Channel, recv, type SelectCase, select, send } from '../../src/index.ts';

/** A small seeded generator, so a failing run replays from its fast-check seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Race {
  capacities: number[];
  senders: number;
  receivers: number;
  values: number;
  seed: number;
}

async function race({ capacities, senders, receivers, values, seed }: Race): Promise<void> {
  const rand = random(seed);
  const chans = capacities.map((c) => new Channel<number>(c));
  const quit = new Channel<never>();
  const signals: AbortSignal[] = [];
  const sent: number[] = [];
  const got: number[] = [];

  // Some operations get a signal that aborts now, after a few ticks, or never.
  const signal = (): AbortSignal | undefined => {
    const roll = rand();
    if (roll < 0.6) return undefined;
    const controller = new AbortController();
    signals.push(controller.signal);
    if (roll < 0.65) controller.abort();
    else if (roll < 0.85) queueMicrotask(() => controller.abort());
    else {
      const ticks = 1 + Math.floor(rand() * 3);
      void (async () => {
        for (let i = 0; i < ticks; i++) await tick();
        controller.abort();
      })();
    }
    return controller.signal;
  };
  const someChannels = (): Channel<number>[] => {
    const picked = chans.filter(() => rand() < 0.5);
    return picked.length > 0 ? picked : [chans[Math.floor(rand() * chans.length)]];
  };
  const shuffled = <T>(xs: T[]): T[] => {
    const out = [...xs];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  const aborted = (err: unknown, s: AbortSignal | undefined) => {
    if (s?.aborted && err === s.reason) return;
    throw err;
  };

  const sender = async (k: number) => {
    for (let j = 0; j < values; j++) {
      const value = k * 1000 + j;
      const s = signal();
      try {
        if (rand() < 0.3) {
          await chans[Math.floor(rand() * chans.length)].send(value, { signal: s });
        } else {
          const cases: SelectCase[] = someChannels().map((ch) => send(ch, value));
          const r = await select(cases, { signal: s });
          assert.ok(r.index >= 0 && r.index < cases.length);
        }
        sent.push(value);
      } catch (err) {
        aborted(err, s);
      }
      if (rand() < 0.3) await tick();
    }
  };
  const receiver = async () => {
    for (;;) {
      const s = signal();
      // Every channel, in a random order: a receiver that skipped one could
      // wait forever while every sender waits on that one.
      const cases: SelectCase[] = [...shuffled(chans).map((ch) => recv(ch)), recv(quit)];
      try {
        const r = await select(cases, { signal: s });
        if (r.index === cases.length - 1) return;
        assert.equal(r.ok, true);
        got.push(r.value as number);
      } catch (err) {
        aborted(err, s);
      }
      if (rand() < 0.3) await tick();
    }
  };

  const receiving = Array.from({ length: receivers }, receiver);
  await Promise.all(Array.from({ length: senders }, (_, k) => sender(k)));
  quit.close();
  await Promise.all(receiving);
  // What the receivers left in the buffers.
  for (const ch of chans) {
    for (let r = ch.tryRecv(); r?.ok; r = ch.tryRecv()) got.push(r.value);
  }
  // Let the pending abort timers fire, then count listeners.
  for (let i = 0; i < 4; i++) await tick();
  const sort = (xs: number[]) => [...xs].sort((a, b) => a - b);
  assert.deepEqual(sort(got), sort(sent));
  for (const s of signals) assert.equal(getEventListeners(s, 'abort').length, 0);
}

describe('select (races)', () => {
  it('delivers every sent value exactly once across random selects and aborts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          capacities: fc.array(fc.nat(2), { minLength: 1, maxLength: 3 }),
          senders: fc.integer({ min: 1, max: 4 }),
          receivers: fc.integer({ min: 1, max: 4 }),
          values: fc.integer({ min: 1, max: 30 }),
          seed: fc.integer(),
        }),
        race,
      ),
      { numRuns: 150 },
    );
  });
});
