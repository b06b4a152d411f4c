// Property tests of Group over random schedules of functions (lengths in
// event-loop turns, failures, functions that ignore the signal), limits,
// parent aborts, and scopes left early through await using.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Group } from '../src/index.ts';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

const scheduleArb = fc.record({
  fns: fc.array(
    fc.record({
      turns: fc.integer({ min: 0, max: 4 }),
      fails: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
      ignoresSignal: fc.boolean(),
    }),
    { maxLength: 10 },
  ),
  limit: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(Number.POSITIVE_INFINITY)),
  abortAfterTurns: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  leaveEarly: fc.boolean(),
});

describe('Group over random schedules', () => {
  it('settles only when nothing runs, keeps its limit, leaves no listener, and reports the first failure', async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb, async (s) => {
        const controller = new AbortController();
        const reason = new Error('parent');
        const errors = s.fns.map((_, i) => new Error(`fn ${i}`));
        const events: unknown[] = [];
        const thrown: unknown[] = [];
        let running = 0;
        let peak = 0;
        let settled = false;
        if (s.abortAfterTurns !== undefined) {
          void (async () => {
            for (let t = 0; t < s.abortAfterTurns!; t++) await tick();
            if (!settled) events.push(reason);
            controller.abort(reason);
          })();
        }
        const body = async (g: Group) => {
          for (const [i, f] of s.fns.entries()) {
            await g.go(async (signal) => {
              peak = Math.max(peak, ++running);
              try {
                for (let t = 0; t < f.turns; t++) {
                  if (!f.ignoresSignal) signal.throwIfAborted();
                  await tick();
                }
                if (f.fails) {
                  thrown.push(errors[i]);
                  if (!signal.aborted) events.push(errors[i]);
                  throw errors[i];
                }
              } finally {
                running--;
              }
            });
          }
        };
        const outcome = await (async () => {
          if (s.leaveEarly) {
            await using g = new Group({ signal: controller.signal, limit: s.limit });
            await body(g);
            return;
          }
          const g = new Group({ signal: controller.signal, limit: s.limit });
          await body(g);
          await g.wait();
        })().then(
          () => ({ ok: true as const }),
          (error: unknown) => ({ ok: false as const, error }),
        );
        settled = true;
        assert.equal(running, 0);
        assert.ok(peak <= s.limit);
        assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
        const first = events[0];
        if (s.leaveEarly) {
          // Dispose rejects only with a function's own failure.
          // Dispose rejects with the first function that failed while the
          // group ran, else with the first that failed after it was stopped
          // (its own error, not the cancellation), else resolves.
          const own = first !== undefined && first !== reason ? first : thrown[0];
          assert.equal(outcome.ok ? undefined : outcome.error, own);
          return;
        }
        if (first === undefined) assert.ok(outcome.ok);
        else assert.equal(outcome.ok ? undefined : outcome.error, first);
      }),
      { numRuns: 1500 },
    );
  });
});
