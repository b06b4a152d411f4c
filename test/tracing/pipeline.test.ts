import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pipeline } from '../../src/index.ts';
import { byName, parentOf, register, takeSpans, total } from '../fixtures/tracing-sdk.ts';

register();

const app = trace.getTracer('test');
const id = (s: ReadableSpan) => s.spanContext().spanId;
const one = (spans: ReadableSpan[], name: string) => {
  const found = byName(spans, name);
  assert.equal(found.length, 1, `one span named ${name}`);
  return found[0]!;
};
const cancelEvents = (s: ReadableSpan) => s.events.filter((e) => e.name === 'fanout.cancelled');

describe('pipeline tracing', () => {
  it('spans a run under the active span, with a span per map stage and none per item', async () => {
    takeSpans();
    const out = await app.startActiveSpan('request', async (request) => {
      const r = await pipeline([1, 2, 3])
        .map(
          async (n) => {
            await sleep(1);
            app.startSpan(`inner ${n}`).end();
            return n * 2;
          },
          { concurrency: 2 },
        )
        .filter((n) => n > 2)
        .map((n) => n + 1)
        .toArray();
      request.end();
      return r;
    });
    assert.deepEqual(out, [5, 7]);
    const spans = takeSpans();
    const run = one(spans, 'pipeline');
    assert.equal(parentOf(run), id(one(spans, 'request')));
    const stages = byName(spans, 'pipeline.map').sort(
      (a, b) =>
        (a.attributes['fanout.stage.position'] as number) -
        (b.attributes['fanout.stage.position'] as number),
    );
    assert.equal(stages.length, 2);
    for (const s of stages) assert.equal(parentOf(s), id(run));
    assert.deepEqual(
      stages.map((s) => s.attributes['fanout.stage.position']),
      [1, 3],
    );
    assert.equal(stages[0]!.attributes['fanout.concurrency'], 2);
    assert.equal(stages[0]!.attributes['fanout.tasks.succeeded'], 3);
    assert.equal(stages[1]!.attributes['fanout.tasks.succeeded'], 2);
    assert.deepEqual(byName(spans, 'fanout.task'), []);
    // Items run in their stage's context: their own spans nest under it.
    for (const n of [1, 2, 3]) assert.equal(parentOf(one(spans, `inner ${n}`)), id(stages[0]!));
  });

  it("gives every item a span under its stage with trace: 'items'", async () => {
    takeSpans();
    await pipeline(['a', 'b'])
      .map((s) => s.toUpperCase(), { trace: 'items' })
      .forEach(() => {});
    const spans = takeSpans();
    const stage = one(spans, 'pipeline.map');
    const items = byName(spans, 'fanout.task');
    assert.deepEqual(items.map((i) => i.attributes['fanout.task.index']).sort(), [0, 1]);
    for (const i of items) assert.equal(parentOf(i), id(stage));
    assert.equal(parentOf(one(spans, 'pipeline.forEach')), id(one(spans, 'pipeline')));
  });

  it('marks the failing item, its stage and the run as errors', async () => {
    takeSpans();
    const boom = new Error('bad item');
    await assert.rejects(
      pipeline([1, 2, 3, 4])
        .map((n) => n, { concurrency: 2 })
        .map(
          async (n, { signal }) => {
            if (n === 2) throw boom;
            await sleep(60_000, undefined, { signal });
          },
          { concurrency: 4, trace: 'items' },
        )
        .drain(),
      boom,
    );
    const spans = takeSpans();
    const run = one(spans, 'pipeline');
    assert.deepEqual(run.status, { code: 2, message: 'bad item' });
    const [first, second] = byName(spans, 'pipeline.map').sort(
      (a, b) =>
        (a.attributes['fanout.stage.position'] as number) -
        (b.attributes['fanout.stage.position'] as number),
    );
    assert.equal(first!.status.code, 0);
    assert.equal(second!.status.code, 2);
    assert.equal(second!.attributes['fanout.tasks.failed'], 1);
    const items = byName(spans, 'fanout.task');
    const failing = items.filter((i) => i.status.code === 2);
    assert.equal(failing.length, 1);
    assert.equal(failing[0]!.attributes['fanout.task.index'], 1);
    const others = items.filter((i) => i.status.code !== 2);
    assert.ok(others.length > 0);
    for (const i of others) assert.equal(cancelEvents(i).length, 1);
  });

  it('notes an early exit of the consumer without calling it an error', async () => {
    takeSpans();
    for await (const n of pipeline([1, 2, 3]).map((n) => n)) {
      if (n === 1) break;
    }
    const run = one(takeSpans(), 'pipeline');
    assert.equal(run.status.code, 0);
    assert.equal(run.attributes['fanout.pipeline.early_exit'], true);
  });

  it("treats the caller's abort as a cancellation and leaves no listener", async () => {
    takeSpans();
    const controller = new AbortController();
    const reason = new Error('shutdown');
    const done = pipeline([1, 2], { signal: controller.signal })
      .map((_, { signal }) => sleep(60_000, undefined, { signal }), { concurrency: 2 })
      .drain();
    await sleep(5);
    controller.abort(reason);
    await assert.rejects(done, reason);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const spans = takeSpans();
    const run = one(spans, 'pipeline');
    assert.equal(run.status.code, 0);
    assert.equal(cancelEvents(run)[0]!.attributes!['fanout.cancel.reason'], 'Error: shutdown');
    const stage = one(spans, 'pipeline.map');
    assert.equal(stage.attributes['fanout.tasks.cancelled'], 2);
    assert.equal(cancelEvents(stage).length, 1);
  });

  it('starts no span for an already aborted signal', async () => {
    takeSpans();
    const signal = AbortSignal.abort(new Error('gone'));
    await assert.rejects(
      pipeline([1], { signal })
        .map((n) => n)
        .toArray(),
      /gone/,
    );
    assert.deepEqual(takeSpans(), []);
  });

  it('counts the items of a stage in the task metrics', async () => {
    const before = await total('fanout.task.succeeded', { 'fanout.api': 'pipeline.map' });
    await pipeline([1, 2, 3])
      .map((n) => n)
      .drain();
    const after = await total('fanout.task.succeeded', { 'fanout.api': 'pipeline.map' });
    assert.equal(after - before, 3);
  });

  it("rejects a trace option other than 'items', naming it", () => {
    assert.throws(
      () => pipeline([1]).map((n) => n, { trace: 'all' as 'items' }),
      (err: unknown) =>
        err instanceof TypeError && /pipeline\.map: options\.trace .*"all"/.test(err.message),
    );
  });
});
