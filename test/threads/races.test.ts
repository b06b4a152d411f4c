import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import fc from 'fast-check';
import { type ThreadPool, threadPool } from '../../src/threads/index.ts';

const tasks = new URL('../fixtures/threads-tasks.ts', import.meta.url);

type Kind = 'inc' | 'incLater' | 'spin' | 'spinUntilAborted';
// One task to hand over: which export, its input, which of the controllers
// gives its signal (-1: none), and whether to let the event loop run after.
const op = fc.record({
  kind: fc.constantFrom<Kind>('inc', 'incLater', 'spin', 'spinUntilAborted'),
  x: fc.integer({ min: 0, max: 15 }), // spin: ms of CPU, long enough at times for work to move
  signal: fc.integer({ min: -1, max: 2 }),
  pause: fc.boolean(),
});

describe('threadPool under random cancellation', () => {
  let pool: ThreadPool;
  before(async () => {
    pool = threadPool({ module: tasks, size: 2, abortGrace: 10_000 });
    await pool.ready();
  });
  after(() => pool.close());

  it('settles every task with its result or its abort reason, and leaves no listener', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 10, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 30 }), { minLength: 3, maxLength: 3 }),
        async (ops, abortAt) => {
          const controllers = [0, 1, 2].map(() => new AbortController());
          const reasons = controllers.map((_, i) => new Error(`abort ${i}`));
          const settled: Promise<void>[] = [];
          for (let i = 0; i < ops.length; i++) {
            const o = ops[i]!;
            // A task that waits for its signal needs one that will abort.
            const s = o.kind === 'spinUntilAborted' && o.signal < 0 ? 0 : o.signal;
            const signal = s < 0 ? undefined : controllers[s]!.signal;
            const p = pool.task(o.kind)(o.x, signal && { signal });
            settled.push(
              p.then(
                (value) => {
                  if (o.kind === 'inc' || o.kind === 'incLater') assert.equal(value, o.x + 1);
                },
                (err) => {
                  assert.ok(s >= 0, `a task without a signal failed: ${err}`);
                  assert.equal(err, reasons[s]);
                },
              ),
            );
            for (let c = 0; c < 3; c++) {
              if (abortAt[c] === i) controllers[c]!.abort(reasons[c]);
            }
            if (o.pause) await delay(1);
          }
          controllers.forEach((c, i) => {
            c.abort(reasons[i]);
          });
          await Promise.all(settled);
          for (const c of controllers) {
            assert.equal(getEventListeners(c.signal, 'abort').length, 0);
          }
        },
      ),
      { numRuns: 25 },
    );
    assert.equal(await pool.task('inc')(1), 2, 'the pool still works');
  });
});
