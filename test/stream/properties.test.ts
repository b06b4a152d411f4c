// Random pipelines, random early exits, failures and aborts: whatever
// happens, once the consumer resumes nothing runs, nothing starts later, the
// source was closed, no listener is left, and the outcome is the model's.

import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Pipeline, pipeline } from '../../src/index.ts';
import { Probe, sleep, source } from '../fixtures/stream.ts';

type StageSpec =
  | { kind: 'map'; concurrency: number; ordered: boolean; failAt: number | undefined }
  | { kind: 'filter' }
  | { kind: 'tap' }
  | { kind: 'flatMap'; concurrency: number }
  | { kind: 'batch'; size: number }
  | { kind: 'through' };

const stageArb: fc.Arbitrary<StageSpec> = fc.oneof(
  fc.record({
    kind: fc.constant('map' as const),
    concurrency: fc.integer({ min: 1, max: 6 }),
    ordered: fc.boolean(),
    failAt: fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined, freq: 3 }),
  }),
  fc.record({ kind: fc.constant('filter' as const) }),
  fc.record({ kind: fc.constant('tap' as const) }),
  fc.record({ kind: fc.constant('flatMap' as const), concurrency: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('batch' as const), size: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('through' as const) }),
);

const caseArb = fc.record({
  length: fc.integer({ min: 0, max: 30 }),
  asyncSource: fc.boolean(),
  sourceDelay: fc.constantFrom(0, 0, 1),
  stages: fc.array(stageArb, { minLength: 1, maxLength: 4 }),
  breakAfter: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
  abortAfterMs: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined, freq: 4 }),
  consumer: fc.constantFrom('iterate', 'toArray', 'reduce'),
});

/** What the stages make of the input when nothing fails or stops. */
function model(input: number[], stages: StageSpec[]): number[] {
  let xs = input;
  for (const s of stages) {
    if (s.kind === 'map') xs = xs.map((x) => x + 1);
    else if (s.kind === 'filter') xs = xs.filter((x) => x % 3 !== 0);
    else if (s.kind === 'flatMap') xs = xs.flatMap((x) => [x, x]);
  }
  return xs;
}

describe('Pipeline (properties)', () => {
  it('leaves nothing running and no listener, whatever stops it', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const probe = new Probe();
        const errors = new Set<unknown>();
        const controller = new AbortController();
        const reason = new Error('abort');
        const src = source(c.length, c.sourceDelay);
        const input = Array.from({ length: c.length }, (_, i) => i);
        let p: Pipeline<number> = pipeline<number>(c.asyncSource ? src.iterable : input, {
          signal: controller.signal,
        });
        for (const s of c.stages) {
          if (s.kind === 'map') {
            const boom = new Error(`boom at ${s.failAt}`);
            errors.add(boom);
            p = p.map(
              probe.wrap(async (x: number, { signal, index }) => {
                if (index % 3 === 1) await sleep(1, signal);
                else await Promise.resolve();
                if (index === s.failAt) throw boom;
                return x + 1;
              }),
              { concurrency: s.concurrency, ordered: s.ordered },
            );
          } else if (s.kind === 'filter') {
            p = p.filter((x) => x % 3 !== 0);
          } else if (s.kind === 'tap') {
            p = p.tap(probe.wrap(async () => {}));
          } else if (s.kind === 'flatMap') {
            p = p.flatMap(
              probe.wrap(async (x: number) => [x, x]),
              { concurrency: s.concurrency },
            );
          } else if (s.kind === 'batch') {
            p = p.batch(s.size).flatMap((b) => b.values());
          } else {
            p = p.through(async function* (items) {
              for await (const x of items) yield x;
            });
          }
        }
        const timer =
          c.abortAfterMs === undefined
            ? undefined
            : setTimeout(() => controller.abort(reason), c.abortAfterMs);

        let out: number[] = [];
        let error: unknown;
        let broke = false;
        try {
          if (c.consumer === 'iterate') {
            for await (const x of p) {
              out.push(x);
              if (c.breakAfter !== undefined && out.length > c.breakAfter) {
                broke = true;
                break;
              }
            }
          } else if (c.consumer === 'toArray') {
            out = await p.toArray();
          } else {
            out = await p.reduce((acc: number[], x) => {
              acc.push(x);
              return acc;
            }, []);
          }
        } catch (err) {
          error = err;
        }
        clearTimeout(timer);

        // Nothing runs once the consumer resumed, and nothing starts later.
        assert.equal(probe.running, 0, 'a task still runs');
        const started = probe.started;
        if (c.asyncSource) assert.equal(src.state.finished, true, 'the source was not closed');
        assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
        await sleep(3);
        assert.equal(probe.started, started, 'a task started after the end');

        if (error !== undefined) {
          assert.ok(error === reason || errors.has(error), `unexpected error ${error}`);
          return;
        }
        const expected = model(input, c.stages);
        const unordered = c.stages.some((s) => s.kind === 'map' && !s.ordered);
        if (broke) {
          assert.equal(out.length, c.breakAfter! + 1);
          if (!unordered) assert.deepEqual(out, expected.slice(0, out.length));
        } else if (unordered) {
          assert.deepEqual(
            [...out].sort((a, b) => a - b),
            [...expected].sort((a, b) => a - b),
          );
        } else {
          assert.deepEqual(out, expected);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('never runs more than concurrency tasks of a map at once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 40 }),
        async (concurrency, ordered, delays) => {
          const probe = new Probe();
          const out = await pipeline(delays)
            .map(
              probe.wrap(async (ms: number) => {
                if (ms > 0) await sleep(ms);
                return ms;
              }),
              { concurrency, ordered },
            )
            .toArray();
          assert.ok(probe.max <= concurrency);
          if (ordered) assert.deepEqual(out, delays);
          else assert.equal(out.length, delays.length);
        },
      ),
      { numRuns: 60 },
    );
  });
});
