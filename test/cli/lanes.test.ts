import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
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

/** Runs `n` quick jobs at once, so that the lanes have seen jobs end and queue the next. */
async function warm(lanes: Lanes, n: number): Promise<void> {
  const signal = new AbortController().signal;
  await Promise.all(Array.from({ length: n }, () => lanes.run('true', { signal, grace })));
}

/** `promise`, or a failure with `why` if it has not settled within `ms`. */
async function within<T>(ms: number, promise: Promise<T>, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(why)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Lanes', () => {
  it('runs every job once, with its own output and exit code, whether it waits in a lane or in fanout', async () => {
    // With lookahead the next job's pid can reach fanout before the marks that
    // end this job's output; each stream must still be cut at its own marks.
    // Jobs of mixed lengths wait both ways: in fanout, and behind young jobs.
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.array(
          fc.record({
            code: fc.constantFrom(0, 0, 1, 3),
            out: fc.boolean(),
            err: fc.boolean(),
            sleep: fc.constantFrom('', '', 'sleep 0.01;', 'sleep 0.05;'),
          }),
          { minLength: 1, maxLength: 16 },
        ),
        async (size, specs) => {
          const signal = new AbortController().signal;
          const log = join(dir, `ran-${run++}`);
          // As exec drives them: fanOut keeps 2 x size jobs in hand.
          const results = await withLanes({ size, lookahead: true, pause: false }, (lanes) =>
            fanOut(
              specs,
              (s, ctx) =>
                lanes.run(
                  `echo ${ctx.index} >> ${log};` +
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
          const ran = readFileSync(log, 'utf8').trim().split('\n').map(Number);
          assert.deepEqual(
            ran.sort((a, b) => a - b),
            specs.map((_, i) => i),
            'each job ran exactly once',
          );
          assert.equal(getEventListeners(signal, 'abort').length, 0);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('starts a job waiting in a lane only once the one ahead has exited', async () => {
    const signal = new AbortController().signal;
    const done = join(dir, 'first-done');
    const [first, second] = await withLanes(
      { size: 1, lookahead: true, pause: false },
      async (lanes) => {
        await warm(lanes, 1);
        const jobs = [
          lanes.run(`sleep 0.2; touch ${done}`, { signal, grace }),
          // Fails if it runs before the first has finished.
          lanes.run(`test -e ${done}`, { signal, grace }),
        ];
        assert.equal(lanes.holding, 0, 'the second job waits in the lane');
        return Promise.all(jobs);
      },
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

  it('holds a job rather than queue it behind a job of unknown length, for the first lane to finish', async () => {
    // Jobs of 100 s, 1 s and 50 s on two lanes, before any job has ended: the
    // third must go to the lane that finishes first, not wait behind the
    // first. Here the "100 s" job runs until the test opens its gate.
    const signal = new AbortController().signal;
    const gate = join(dir, 'gate-start');
    await withLanes({ size: 2, lookahead: true, pause: false }, async (lanes) => {
      const long = lanes.run(`while [ ! -e ${gate} ]; do sleep 0.01; done`, { signal, grace });
      try {
        const short = lanes.run('sleep 0.05', { signal, grace });
        const third = lanes.run('echo third', { signal, grace });
        assert.equal(lanes.holding, 1);
        const r = await within(30_000, third, 'the third job waited behind the long one');
        assert.deepEqual([r.exitCode, text(r.stdout)], [0, 'third\n']);
        assert.equal((await short).exitCode, 0);
      } finally {
        writeFileSync(gate, '');
      }
      assert.equal((await long).exitCode, 0);
    });
  });

  it('queues a job behind a young running job, never behind one that has run longer than jobs take', async () => {
    const signal = new AbortController().signal;
    const gate = join(dir, 'gate-old');
    await withLanes({ size: 2, lookahead: true, pause: false }, async (lanes) => {
      await warm(lanes, 2);
      const long = lanes.run(`while [ ! -e ${gate} ]; do sleep 0.01; done`, { signal, grace });
      try {
        // Old by now: the warm-up jobs took a few ms.
        await sleep(300);
        const young = lanes.run('sleep 0.1', { signal, grace });
        const third = lanes.run('echo third', { signal, grace });
        assert.equal(lanes.holding, 0, 'the third job waits in a lane');
        const r = await within(30_000, third, 'the third job waited behind the old one');
        assert.deepEqual([r.exitCode, text(r.stdout)], [0, 'third\n']);
        assert.equal((await young).exitCode, 0);
      } finally {
        writeFileSync(gate, '');
      }
      assert.equal((await long).exitCode, 0);
    });
  });

  it('takes back a job waiting in a lane when it is cancelled on its own, and goes on with the next', async () => {
    const run = new AbortController().signal;
    const own = new AbortController();
    const marker = join(dir, 'cancelled-alone');
    await withLanes({ size: 1, lookahead: true, pause: false }, async (lanes) => {
      await warm(lanes, 1);
      const first = lanes.run('sleep 0.1', { signal: run, grace });
      const cancelled = lanes.run(`touch ${marker}`, { signal: own.signal, grace });
      assert.equal(lanes.holding, 0, 'the second job waits in the lane');
      own.abort();
      const r = await cancelled;
      assert.deepEqual([r.started, r.exitCode, r.signal], [false, -1, 'SIGTERM']);
      assert.equal(existsSync(marker), false, 'the cancelled job never ran');
      assert.equal((await first).exitCode, 0);
      const next = await lanes.run('echo next', { signal: run, grace });
      assert.deepEqual([next.exitCode, text(next.stdout)], [0, 'next\n']);
    });
    assert.equal(getEventListeners(own.signal, 'abort').length, 0);
    assert.equal(getEventListeners(run, 'abort').length, 0);
  });

  it('settles a held job cancelled on its own at once, while the lanes are busy', async () => {
    const run = new AbortController().signal;
    const own = new AbortController();
    const gate = join(dir, 'gate-held');
    const marker = join(dir, 'cancelled-held');
    await withLanes({ size: 1, lookahead: true, pause: false }, async (lanes) => {
      const first = lanes.run(`while [ ! -e ${gate} ]; do sleep 0.01; done`, {
        signal: run,
        grace,
      });
      try {
        const cancelled = lanes.run(`touch ${marker}`, { signal: own.signal, grace });
        assert.equal(lanes.holding, 1);
        own.abort();
        const r = await within(30_000, cancelled, 'the held job waited for the lane');
        assert.deepEqual([r.started, r.exitCode, r.signal], [false, -1, 'SIGTERM']);
        assert.equal(lanes.holding, 0);
      } finally {
        writeFileSync(gate, '');
      }
      assert.equal((await first).exitCode, 0);
    });
    assert.equal(existsSync(marker), false, 'the cancelled job never ran');
    assert.equal(getEventListeners(own.signal, 'abort').length, 0);
  });

  it('never starts a job waiting in a lane or held when the run is cancelled', async () => {
    for (const held of [false, true]) {
      const run = new AbortController();
      const marker = join(dir, `cancelled-waiting-${held}`);
      const results = await withLanes({ size: 1, lookahead: true, pause: false }, async (lanes) => {
        if (!held) await warm(lanes, 1);
        const jobs = [
          lanes.run('sleep 0.3', { signal: run.signal, grace }),
          lanes.run(`touch ${marker}`, { signal: run.signal, grace }),
        ];
        assert.equal(lanes.holding, held ? 1 : 0);
        run.abort();
        return Promise.all(jobs);
      });
      assert.equal(results[0]!.signal, 'SIGTERM', 'the running job was killed');
      assert.equal(results[1]!.started, false);
      assert.deepEqual([results[1]!.exitCode, results[1]!.runtime], [-1, 0]);
      assert.equal(existsSync(marker), false, 'the waiting job never ran');
      assert.equal(getEventListeners(run.signal, 'abort').length, 0);
    }
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
    const [failed, next] = await withLanes(
      { size: 1, lookahead: true, pause: true },
      async (lanes) => {
        await warm(lanes, 1);
        const jobs = [
          lanes.run('exit 3', { signal, grace }),
          lanes.run('echo next', { signal, grace }),
        ];
        assert.equal(lanes.holding, 0, 'the second job waits in the lane');
        return Promise.all(jobs);
      },
    );
    assert.equal(failed!.exitCode, 3);
    assert.deepEqual([next!.exitCode, text(next!.stdout)], [0, 'next\n']);
  });

  it('with pause, starts nothing more on the lane of a failure that stops the run', async () => {
    const run = new AbortController();
    const marker = join(dir, 'after-failure');
    const results = await withLanes({ size: 1, lookahead: true, pause: true }, async (lanes) => {
      await warm(lanes, 1);
      const failed = lanes.run('exit 3', { signal: run.signal, grace });
      // As fanOut does: the failure aborts the run before the next turn of the event loop.
      failed.then(() => run.abort());
      const next = lanes.run(`touch ${marker}`, { signal: run.signal, grace });
      assert.equal(lanes.holding, 0, 'the second job waits in the lane');
      return Promise.all([failed, next]);
    });
    assert.equal(results[0]!.exitCode, 3);
    assert.equal(results[1]!.started, false);
    assert.equal(existsSync(marker), false, 'the job behind the failure never ran');
  });

  it('times a job from when it started, not from when it was handed over', async () => {
    const signal = new AbortController().signal;
    let t0 = 0;
    let before = 0;
    const [, second] = await withLanes(
      { size: 1, lookahead: true, pause: false },
      async (lanes) => {
        await warm(lanes, 1);
        t0 = performance.now();
        before = Date.now();
        const jobs = [
          lanes.run('sleep 0.3', { signal, grace }),
          lanes.run('true', { signal, grace }),
        ];
        assert.equal(lanes.holding, 0, 'the second job waits in the lane');
        return Promise.all(jobs);
      },
    );
    const total = performance.now() - t0;
    // The second job could not start before the first's 300 ms sleep ended.
    assert.ok(second!.start - before >= 299, `started ${second!.start - before} ms in`);
    assert.ok(second!.runtime <= total - 299, `ran ${second!.runtime} of ${total} ms`);
  });
});
