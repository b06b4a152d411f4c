// Property tests of fanOut and fanOutSettled over thousands of random
// schedules: task lengths (in event-loop turns), failures, tasks that ignore
// their signal, parent aborts, concurrency, order, input kinds and retries.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { AggregateTaskError, fanOut, fanOutSettled } from '../src/index.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
before(() => process.on('unhandledRejection', onUnhandled));
after(() => {
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, [], 'no unhandled rejection in any schedule');
});

const scheduleArb = fc.record({
  tasks: fc.array(
    fc.record({
      turns: fc.integer({ min: 0, max: 4 }),
      fails: fc.integer({ min: 0, max: 7 }).map((n) => n === 0),
      ignoresSignal: fc.boolean(),
    }),
    { maxLength: 12 },
  ),
  concurrency: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(Number.POSITIVE_INFINITY)),
  ordered: fc.boolean(),
  failFast: fc.boolean(),
  settled: fc.boolean(),
  source: fc.constantFrom('array', 'sync', 'async'),
  abortAfterTurns: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
  attempts: fc.integer({ min: 1, max: 2 }),
});

type Schedule = typeof scheduleArb extends fc.Arbitrary<infer S> ? S : never;

async function runSchedule(s: Schedule): Promise<void> {
  const controller = new AbortController();
  const reason = new Error('parent aborted');
  const errors = s.tasks.map((_, i) => new Error(`task ${i} failed`));
  const events: string[] = [];
  let running = 0;
  let peak = 0;
  let settled = false;
  let firstStartsAfterSettle = 0;
  let firstStartsAfterFailure = 0;

  const fn = async (i: number, ctx: { signal: AbortSignal; attempt: number }) => {
    const t = s.tasks[i]!;
    if (ctx.attempt === 1) {
      if (settled) firstStartsAfterSettle++;
      // fanOut aborts the shared signal the moment it stops: a task that
      // starts with it aborted was started after the call failed.
      if (ctx.signal.aborted) firstStartsAfterFailure++;
    }
    peak = Math.max(peak, ++running);
    try {
      for (let turn = 0; turn < t.turns; turn++) {
        if (!t.ignoresSignal) ctx.signal.throwIfAborted();
        await tick();
      }
      if (t.fails) {
        if (ctx.attempt === s.attempts) events.push('fail');
        throw errors[i];
      }
      return i * 10;
    } finally {
      running--;
    }
  };

  const indices = s.tasks.map((_, i) => i);
  const input =
    s.source === 'array'
      ? indices
      : s.source === 'sync'
        ? indices.values()
        : (async function* () {
            yield* indices;
          })();
  if (s.abortAfterTurns !== undefined) {
    void (async () => {
      for (let t = 0; t < s.abortAfterTurns!; t++) await tick();
      if (!settled) events.push('abort');
      controller.abort(reason);
    })();
  }
  const options = {
    concurrency: s.concurrency,
    ordered: s.ordered,
    failFast: s.failFast,
    signal: controller.signal,
    ...(s.attempts > 1 ? { retry: { attempts: s.attempts, backoff: 0 } } : {}),
  };
  const outcome = await (s.settled
    ? fanOutSettled(input, fn, options)
    : fanOut(input, fn, options)
  ).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  settled = true;

  assert.equal(running, 0, 'nothing runs once the call has settled');
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0, 'no listener left');
  assert.ok(peak <= s.concurrency, `at most ${s.concurrency} at once, saw ${peak}`);

  assert.equal(firstStartsAfterFailure, 0, 'nothing starts once the call has stopped');
  const failing = indices.filter((i) => s.tasks[i]!.fails);
  const firstEvent = events.find((e) => e === 'fail' || e === 'abort');
  const abortedInTime = events.includes('abort');

  if (s.settled) {
    if (abortedInTime) {
      assert.equal(outcome.ok ? undefined : outcome.error, reason);
      return;
    }
    assert.ok(outcome.ok);
    const got = outcome.value as PromiseSettledResult<number>[];
    assert.equal(got.length, s.tasks.length);
    const expected = indices.map((i) =>
      s.tasks[i]!.fails
        ? { status: 'rejected', reason: errors[i] }
        : { status: 'fulfilled', value: i * 10 },
    );
    if (s.ordered) assert.deepEqual(got, expected);
    else assert.equal(got.filter((o) => o.status === 'rejected').length, failing.length);
    return;
  }

  if (firstEvent === undefined) {
    // Nothing failed, nothing was aborted: the same as a sequential map.
    assert.ok(outcome.ok, `expected success, got ${String(!outcome.ok && outcome.error)}`);
    const values = outcome.value as number[];
    const expected = indices.map((i) => i * 10);
    assert.deepEqual(s.ordered ? values : [...values].sort((a, b) => a - b), expected);
    return;
  }
  assert.equal(outcome.ok, false);
  const error = !outcome.ok ? outcome.error : undefined;
  if (s.failFast) {
    if (firstEvent === 'abort') assert.equal(error, reason);
    else assert.ok(errors.includes(error as Error), 'rejects with a task’s own error');
    const suppressed = (error as { suppressed?: unknown[] }).suppressed ?? [];
    for (const e of suppressed)
      assert.ok(errors.includes(e as Error), 'suppressed holds own errors only');
  } else if (abortedInTime) {
    assert.equal(error, reason);
  } else {
    assert.ok(error instanceof AggregateTaskError);
    assert.deepEqual(error.indices, failing);
  }
  assert.equal(firstStartsAfterSettle, 0, 'nothing starts after the call settled');
}

describe('fanOut over random schedules', () => {
  it('never leaves work running or listeners behind, keeps the limit, and matches a sequential map when nothing fails', async () => {
    await fc.assert(fc.asyncProperty(scheduleArb, runSchedule), { numRuns: 3000 });
  });
});
