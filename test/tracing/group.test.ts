import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Group } from '../../src/index.ts';
import { byName, parentOf, register, takeSpans } from '../fixtures/tracing-sdk.ts';

register({ metrics: false });

const app = trace.getTracer('test');
const wait = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });
const id = (s: ReadableSpan) => s.spanContext().spanId;
const one = (spans: ReadableSpan[], name: string) => {
  const found = byName(spans, name);
  assert.equal(found.length, 1, `one span named ${name}`);
  return found[0]!;
};
const tasksByIndex = (spans: ReadableSpan[]) =>
  byName(spans, 'fanout.task').sort(
    (a, b) =>
      (a.attributes['fanout.task.index'] as number) - (b.attributes['fanout.task.index'] as number),
  );
const cancelEvents = (s: ReadableSpan) => s.events.filter((e) => e.name === 'fanout.cancelled');

describe('Group tracing', () => {
  it("spans the group's life under the active span, with a child span per go", async () => {
    takeSpans();
    await app.startActiveSpan('request', async (request) => {
      const g = new Group({ limit: 1 });
      let release!: () => void;
      await g.go(
        () =>
          new Promise<void>((resolve) => {
            release = resolve;
          }),
      );
      assert.equal(
        g.tryGo(() => 1),
        false,
      ); // at the limit: no span
      const second = g.go(() => 'sync');
      // The first function ends 30 ms after the second was queued.
      await sleep(30);
      release();
      await second;
      await g.wait();
      request.end();
    });
    const spans = takeSpans();
    const group = one(spans, 'Group');
    assert.equal(parentOf(group), id(one(spans, 'request')));
    assert.equal(group.attributes['fanout.concurrency'], 1);
    assert.equal(group.attributes['fanout.tasks.succeeded'], 2);
    assert.equal(group.status.code, 0);
    const tasks = tasksByIndex(spans);
    assert.equal(tasks.length, 2);
    for (const t of tasks) assert.equal(parentOf(t), id(group));
    // The second function queued behind the first, which ended 30 ms later
    // (a timer may fire up to 1 ms early, to the millisecond it counts in).
    assert.ok((tasks[1]!.attributes['fanout.task.slot_wait_ms'] as number) >= 29);
  });

  it('runs each function inside its span, so spans it starts nest under it', async () => {
    takeSpans();
    const g = new Group();
    await g.go(async () => {
      await sleep(1);
      app.startSpan('inner').end();
    });
    await g.wait();
    const spans = takeSpans();
    assert.equal(parentOf(one(spans, 'inner')), id(one(spans, 'fanout.task')));
  });

  it('marks the failing function and the group as errors, and cancels the others', async () => {
    takeSpans();
    const g = new Group();
    const boom = new Error('boom');
    await g.go((signal) => wait(60_000, signal));
    await g.go(async () => {
      await sleep(5);
      throw boom;
    });
    await g.go(() => 'done');
    await assert.rejects(g.wait(), boom);
    const spans = takeSpans();
    const [waiting, failing, done] = tasksByIndex(spans);
    assert.equal(cancelEvents(waiting!).length, 1);
    assert.equal(waiting!.status.code, 0);
    assert.deepEqual(failing!.status, { code: 2, message: 'boom' });
    assert.equal(cancelEvents(failing!).length, 0);
    assert.ok(failing!.events.some((e) => e.name === 'exception'));
    assert.deepEqual(done!.events, []);
    const group = one(spans, 'Group');
    assert.equal(group.status.code, 2);
    assert.equal(group.attributes['fanout.tasks.failed'], 1);
    assert.equal(group.attributes['fanout.tasks.cancelled'], 1);
    assert.equal(group.attributes['fanout.tasks.succeeded'], 1);
  });

  it('ends the span with a cancellation event when left before wait', async () => {
    takeSpans();
    {
      await using g = new Group();
      await g.go((signal) => wait(60_000, signal));
    }
    const spans = takeSpans();
    const group = one(spans, 'Group');
    assert.equal(group.status.code, 0);
    assert.match(
      String(cancelEvents(group)[0]!.attributes!['fanout.cancel.reason']),
      /left before wait/,
    );
    assert.equal(cancelEvents(one(spans, 'fanout.task')).length, 1);
  });

  it('treats the parent signal aborting as a cancellation and leaves no listener', async () => {
    takeSpans();
    const controller = new AbortController();
    const g = new Group({ signal: controller.signal });
    await g.go((signal) => wait(60_000, signal));
    controller.abort(new Error('shutdown'));
    await assert.rejects(g.wait(), /shutdown/);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    const spans = takeSpans();
    const group = one(spans, 'Group');
    assert.equal(group.status.code, 0);
    assert.equal(cancelEvents(group)[0]!.attributes!['fanout.cancel.reason'], 'Error: shutdown');
    const task = one(spans, 'fanout.task');
    assert.equal(task.status.code, 0);
    assert.equal(cancelEvents(task).length, 1);
  });

  it('starts no function span for a group whose parent was already aborted', async () => {
    takeSpans();
    const g = new Group({ signal: AbortSignal.abort(new Error('gone')) });
    let ran = false;
    await g.go(() => {
      ran = true;
    });
    await assert.rejects(g.wait(), /gone/);
    assert.equal(ran, false);
    const spans = takeSpans();
    assert.deepEqual(byName(spans, 'fanout.task'), []);
    assert.equal(cancelEvents(one(spans, 'Group')).length, 1);
  });
});
