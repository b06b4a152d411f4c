import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { Lanes, type LanesOptions } from '../../src/cli/internal/lanes.ts';
import { fanOut } from '../../src/fan-out.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fanout-lanes-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString();

/** Runs `body` with lanes made from `options`, closing them after. */
async function withLanes<T>(options: LanesOptions, body: (lanes: Lanes) => Promise<T>): Promise<T> {
  const lanes = new Lanes(options);
  try {
    return await body(lanes);
  } finally {
    await lanes.close();
  }
}

const grace = 2_000;

describe('Lanes', () => {
  it('gives every job its own output and exit code when jobs wait behind each other', async () => {
    // With lookahead the next job's pid can reach fanout before the marks that
    // end this job's output; each stream must still be cut at its own marks.
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.record({
            code: fc.constantFrom(0, 0, 1, 3),
            out: fc.boolean(),
            err: fc.boolean(),
            sleep: fc.constantFrom('', 'sleep 0.01;'),
          }),
          { minLength: 1, maxLength: 16 },
        ),
        async (size, specs) => {
          const signal = new AbortController().signal;
          // As exec drives them: fanOut keeps 2 x size jobs in hand.
          const results = await withLanes({ size, lookahead: true, pause: false }, (lanes) =>
            fanOut(
              specs,
              (s, ctx) =>
                lanes.run(
                  `${s.out ? `echo out${ctx.index};` : ''}${s.sleep}` +
                    `${s.err ? `echo err${ctx.index} >&2;` : ''}exit ${s.code}`,
                  { signal: ctx.signal, grace },
                ),
              { concurrency: 2 * size, signal },
            ),
          );
          results.forEach((r, i) => {
            const s = specs[i]!;
            assert.equal(r.exitCode, s.code, `job ${i}`);
            assert.equal(r.started, true);
            assert.equal(text(r.stdout), s.out ? `out${i}\n` : '', `stdout of job ${i}`);
            assert.equal(text(r.stderr), s.err ? `err${i}\n` : '', `stderr of job ${i}`);
          });
          assert.equal(getEventListeners(signal, 'abort').length, 0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('starts a job waiting behind another only once that one has exited', async () => {
    const signal = new AbortController().signal;
    const done = join(dir, 'first-done');
    const [first, second] = await withLanes({ size: 1, lookahead: true, pause: false }, (lanes) =>
      Promise.all([
        lanes.run(`sleep 0.2; touch ${done}`, { signal, grace }),
        // Fails if it runs before the first has finished.
        lanes.run(`test -e ${done}`, { signal, grace }),
      ]),
    );
    assert.deepEqual([first!.exitCode, second!.exitCode], [0, 0]);
  });

  it('refuses more jobs than it has lanes, or twice that with lookahead', async () => {
    const signal = new AbortController().signal;
    await withLanes({ size: 1, lookahead: false, pause: false }, async (lanes) => {
      const running = lanes.run('true', { signal, grace });
      assert.throws(() => lanes.run('true', { signal, grace }), /more jobs in hand than 1 lanes/);
      await running;
    });
    await withLanes({ size: 1, lookahead: true, pause: false }, async (lanes) => {
      const running = [lanes.run('true', { signal, grace }), lanes.run('true', { signal, grace })];
      assert.throws(() => lanes.run('true', { signal, grace }), /more jobs in hand/);
      await Promise.all(running);
    });
  });

  it('never starts a waiting job cancelled before its turn, nor any after it on that lane', async () => {
    const run = new AbortController();
    const marker = join(dir, 'cancelled-waiting');
    const results = await withLanes({ size: 1, lookahead: true, pause: false }, async (lanes) => {
      const first = lanes.run('sleep 0.3', { signal: run.signal, grace });
      const second = lanes.run(`touch ${marker}`, { signal: run.signal, grace });
      run.abort();
      return Promise.all([first, second]);
    });
    assert.equal(results[0]!.signal, 'SIGTERM', 'the running job was killed');
    assert.equal(results[1]!.started, false);
    assert.deepEqual([results[1]!.exitCode, results[1]!.runtime], [-1, 0]);
    assert.equal(existsSync(marker), false, 'the waiting job never ran');
    assert.equal(getEventListeners(run.signal, 'abort').length, 0);
  });

  it('resolves an already cancelled job at once without starting it', async () => {
    const signal = AbortSignal.abort();
    const marker = join(dir, 'already');
    const r = await withLanes({ size: 1, lookahead: true, pause: true }, (lanes) =>
      lanes.run(`touch ${marker}`, { signal, grace }),
    );
    assert.deepEqual([r.started, r.exitCode, r.signal], [false, -1, 'SIGTERM']);
    assert.equal(existsSync(marker), false);
    assert.equal(getEventListeners(signal, 'abort').length, 0);
  });

  it('with pause, goes on after a failure when the run goes on', async () => {
    const signal = new AbortController().signal;
    const [failed, next] = await withLanes({ size: 1, lookahead: true, pause: true }, (lanes) =>
      Promise.all([
        lanes.run('exit 3', { signal, grace }),
        lanes.run('echo next', { signal, grace }),
      ]),
    );
    assert.equal(failed!.exitCode, 3);
    assert.deepEqual([next!.exitCode, text(next!.stdout)], [0, 'next\n']);
  });

  it('with pause, starts nothing more on the lane of a failure that stops the run', async () => {
    const run = new AbortController();
    const marker = join(dir, 'after-failure');
    const results = await withLanes({ size: 1, lookahead: true, pause: true }, (lanes) => {
      const failed = lanes.run('exit 3', { signal: run.signal, grace });
      // As fanOut does: the failure aborts the run before the next turn of the event loop.
      failed.then(() => run.abort());
      return Promise.all([failed, lanes.run(`touch ${marker}`, { signal: run.signal, grace })]);
    });
    assert.equal(results[0]!.exitCode, 3);
    assert.equal(results[1]!.started, false);
    assert.equal(existsSync(marker), false, 'the job behind the failure never ran');
  });

  it('times a job from when it started, not from when it was handed over', async () => {
    const signal = new AbortController().signal;
    const t0 = performance.now();
    const before = Date.now();
    const [, second] = await withLanes({ size: 1, lookahead: true, pause: false }, (lanes) =>
      Promise.all([
        lanes.run('sleep 0.3', { signal, grace }),
        lanes.run('true', { signal, grace }),
      ]),
    );
    const total = performance.now() - t0;
    // The second job could not start before the first's 300 ms sleep ended.
    assert.ok(second!.start - before >= 299, `started ${second!.start - before} ms in`);
    assert.ok(second!.runtime <= total - 299, `ran ${second!.runtime} of ${total} ms`);
  });
});
