import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, type Span, TraceFlags, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { AggregateTaskError, fanOut, fanOutSettled, TimeoutError } from '../../src/index.ts';
import { traceCall } from '../../src/tracing/calls.ts';
import { switchTracing } from '../../src/tracing/internal/scope.ts';
import { byName, parentOf, register, takeSpans } from '../fixtures/tracing-sdk.ts';

register({ metrics: false });

const app = trace.getTracer('test');
const wait = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });

/** Runs `fn` inside an active span of the test's own, ended afterwards. */
function inSpan<R>(name: string, fn: (span: Span) => Promise<R>): Promise<R> {
  return app.startActiveSpan(name, async (span) => {
    try {
      return await fn(span);
    } finally {
      span.end();
    }
  });
}

const id = (s: ReadableSpan) => s.spanContext().spanId;
const one = (spans: ReadableSpan[], name: string) => {
  const found = byName(spans, name);
  assert.equal(found.length, 1, `one span named ${name}`);
  return found[0]!;
};
const tasksByIndex = (spans: ReadableSpan[], name = 'fanout.task') =>
  byName(spans, name).sort(
    (a, b) =>
      (a.attributes['fanout.task.index'] as number) - (b.attributes['fanout.task.index'] as number),
  );
const cancelEvents = (s: ReadableSpan) => s.events.filter((e) => e.name === 'fanout.cancelled');

describe('fanOut tracing', () => {
  it('gives a call one span, a child of the active span, with a child span per task', async () => {
    takeSpans();
    const out = await inSpan('request', () =>
      fanOut([1, 2, 3], async (n) => n * 2, { concurrency: 2 }),
    );
    assert.deepEqual(out, [2, 4, 6]);
    const spans = takeSpans();
    const request = one(spans, 'request');
    const call = one(spans, 'fanOut');
    assert.equal(parentOf(call), id(request));
    const tasks = tasksByIndex(spans);
    assert.deepEqual(
      tasks.map((t) => t.attributes['fanout.task.index']),
      [0, 1, 2],
    );
    for (const t of tasks) {
      assert.equal(parentOf(t), id(call));
      assert.equal(t.spanContext().traceId, request.spanContext().traceId);
      assert.equal(t.attributes['fanout.task.attempt'], 1);
      assert.equal(typeof t.attributes['fanout.task.slot_wait_ms'], 'number');
      assert.ok((t.attributes['fanout.task.slot_wait_ms'] as number) >= 0);
      assert.equal(t.status.code, 0);
      assert.deepEqual(t.events, []);
    }
    assert.deepEqual(call.attributes, {
      'fanout.ordered': true,
      'fanout.fail_fast': true,
      'fanout.concurrency': 2,
      'fanout.total': 3,
      'fanout.tasks.succeeded': 3,
      'fanout.tasks.failed': 0,
      'fanout.tasks.cancelled': 0,
    });
    assert.equal(call.status.code, 0);
  });

  it('names task spans after options.name and the call span after the API and that name', async () => {
    takeSpans();
    await fanOut(['a'], (s) => s, { name: 'resize' });
    await fanOutSettled(['a'], (s) => s);
    const spans = takeSpans();
    assert.deepEqual(spans.map((s) => s.name).sort(), [
      'fanOut resize',
      'fanOutSettled',
      'fanout.task',
      'resize',
    ]);
    assert.equal(one(spans, 'fanOutSettled').attributes['fanout.fail_fast'], false);
  });

  it('starts a new trace for each call made with no active span', async () => {
    takeSpans();
    await fanOut([1], (n) => n);
    await fanOut([1], (n) => n);
    const calls = byName(takeSpans(), 'fanOut');
    assert.equal(calls.length, 2);
    assert.equal(parentOf(calls[0]!), undefined);
    assert.notEqual(calls[0]!.spanContext().traceId, calls[1]!.spanContext().traceId);
  });

  it('runs each task inside its span, so spans the task starts nest under it', async () => {
    takeSpans();
    await fanOut([1, 2], async (n) => {
      await sleep(1);
      // After an await too: the context follows the task's own async work.
      await inSpan(`query ${n}`, () => sleep(1));
      return n;
    });
    const spans = takeSpans();
    const tasks = tasksByIndex(spans);
    assert.equal(parentOf(one(spans, 'query 1')), id(tasks[0]!));
    assert.equal(parentOf(one(spans, 'query 2')), id(tasks[1]!));
  });

  it('nests a fanOut called inside a task under that task', async () => {
    takeSpans();
    await fanOut([1], () => fanOut([1, 2], (n) => n, { name: 'inner' }), { name: 'outer' });
    const spans = takeSpans();
    const outerTask = one(spans, 'outer');
    const innerCall = one(spans, 'fanOut inner');
    assert.equal(parentOf(innerCall), id(outerTask));
    for (const t of byName(spans, 'inner')) assert.equal(parentOf(t), id(innerCall));
  });

  // Should task 4 never start, task 0 would wait forever: the timeout fails the test.
  it('puts a cancellation event on exactly the tasks that ended by cancellation', {
    timeout: 30_000,
  }, async () => {
    takeSpans();
    const boom = new Error('boom');
    let fourStarted!: () => void;
    const four = new Promise<void>((resolve) => {
      fourStarted = resolve;
    });
    await assert.rejects(
      fanOut(
        [0, 1, 2, 3, 4, 5],
        async (n, { signal }) => {
          if (n === 0) {
            await four; // fails only once task 4 runs
            throw boom;
          }
          if (n === 3) {
            await sleep(1);
            return n; // done before the failure, and task 4 takes its slot
          }
          if (n === 4) fourStarted();
          await wait(60_000, signal);
          return n;
        },
        { concurrency: 4 },
      ),
      boom,
    );
    const spans = takeSpans();
    const tasks = tasksByIndex(spans);
    // Task 5 never started: the failure stopped the call first.
    assert.deepEqual(
      tasks.map((t) => t.attributes['fanout.task.index']),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      tasks.map((t) => cancelEvents(t).length),
      [0, 1, 1, 0, 1],
    );
    for (const t of [tasks[1]!, tasks[2]!, tasks[4]!]) {
      assert.equal(
        cancelEvents(t)[0]!.attributes!['fanout.cancel.reason'],
        'CancelledError: cancelled: a sibling task failed',
      );
      // Cancelled, not failed: no error status, no exception.
      assert.equal(t.status.code, 0);
      assert.equal(
        t.events.some((e) => e.name === 'exception'),
        false,
      );
    }
    assert.equal(tasks[0]!.status.code, 2);
    const call = one(spans, 'fanOut');
    assert.equal(call.status.code, 2);
    assert.equal(call.status.message, 'boom');
    assert.equal(call.attributes['fanout.tasks.succeeded'], 1);
    assert.equal(call.attributes['fanout.tasks.failed'], 1);
    assert.equal(call.attributes['fanout.tasks.cancelled'], 3);
  });

  it('records a failing task with recordException, error.type and ERROR status', async () => {
    takeSpans();
    class QuotaError extends Error {
      override name = 'QuotaError';
    }
    await fanOutSettled([0, 1, 2], async (n) => {
      if (n === 0) throw new QuotaError('over quota');
      if (n === 1) throw 'a plain string';
      return n;
    });
    const spans = takeSpans();
    const [quota, plain, fine] = tasksByIndex(spans);
    assert.deepEqual(quota!.status, { code: 2, message: 'over quota' });
    assert.equal(quota!.attributes['error.type'], 'QuotaError');
    const exception = quota!.events.find((e) => e.name === 'exception')!;
    assert.equal(exception.attributes!['exception.type'], 'QuotaError');
    assert.equal(exception.attributes!['exception.message'], 'over quota');
    assert.match(String(exception.attributes!['exception.stacktrace']), /over quota/);
    assert.deepEqual(plain!.status, { code: 2, message: 'a plain string' });
    assert.equal(plain!.attributes['error.type'], '_OTHER');
    assert.equal(fine!.status.code, 0);
    // fanOutSettled itself succeeded: its span is not an error.
    const call = one(spans, 'fanOutSettled');
    assert.equal(call.status.code, 0);
    assert.equal(call.attributes['fanout.tasks.failed'], 2);
    assert.equal(call.attributes['fanout.tasks.succeeded'], 1);
  });

  it('ends the span of a task that returns or throws synchronously', async () => {
    takeSpans();
    const bad = new TypeError('sync');
    await assert.rejects(
      fanOut([0, 1], (n) => {
        if (n === 1) throw bad;
        return n;
      }),
      bad,
    );
    const [ok, thrown] = tasksByIndex(takeSpans());
    assert.equal(ok!.status.code, 0);
    assert.equal(thrown!.status.code, 2);
    assert.equal(thrown!.attributes['error.type'], 'TypeError');
  });

  it('gives every retry a span that says its attempt and links to the attempt before', async () => {
    takeSpans();
    const out = await fanOut(
      ['x'],
      (s, { attempt }) => {
        if (attempt < 3) throw new Error(`try ${attempt}`);
        return s;
      },
      { retry: { attempts: 5, backoff: 0 } },
    );
    assert.deepEqual(out, ['x']);
    const spans = takeSpans();
    const attempts = byName(spans, 'fanout.task').sort(
      (a, b) =>
        (a.attributes['fanout.task.attempt'] as number) -
        (b.attributes['fanout.task.attempt'] as number),
    );
    assert.deepEqual(
      attempts.map((a) => [a.attributes['fanout.task.index'], a.attributes['fanout.task.attempt']]),
      [
        [0, 1],
        [0, 2],
        [0, 3],
      ],
    );
    assert.deepEqual(
      attempts.map((a) => a.status.code),
      [2, 2, 0],
    );
    assert.deepEqual(
      attempts.map((a) => a.attributes['fanout.task.retry']),
      [undefined, true, true],
    );
    assert.deepEqual(attempts[0]!.links, []);
    assert.equal(attempts[1]!.links[0]!.context.spanId, id(attempts[0]!));
    assert.equal(attempts[2]!.links[0]!.context.spanId, id(attempts[1]!));
    assert.equal(attempts[1]!.links[0]!.attributes!['fanout.link'], 'previous_attempt');
    // Only the first attempt waited for a slot; retries keep theirs.
    assert.equal(typeof attempts[0]!.attributes['fanout.task.slot_wait_ms'], 'number');
    assert.equal(attempts[1]!.attributes['fanout.task.slot_wait_ms'], undefined);
    const call = one(spans, 'fanOut');
    assert.equal(call.attributes['fanout.retry.attempts'], 5);
    // The task succeeded in the end: its failed attempts are not failed tasks.
    assert.equal(call.attributes['fanout.tasks.succeeded'], 1);
    assert.equal(call.attributes['fanout.tasks.failed'], 0);
  });

  it('counts a task whose retries ran out as failed once', async () => {
    takeSpans();
    const outcomes = await fanOutSettled(
      [0, 1],
      (n) => {
        if (n === 0) throw new Error('always');
        return n;
      },
      { retry: { attempts: 3, backoff: 0 } },
    );
    assert.equal(outcomes[0]!.status, 'rejected');
    const spans = takeSpans();
    assert.equal(byName(spans, 'fanout.task').length, 4);
    const call = one(spans, 'fanOutSettled');
    assert.equal(call.attributes['fanout.tasks.failed'], 1);
    assert.equal(call.attributes['fanout.tasks.succeeded'], 1);
  });

  it('marks an attempt that timed out as failed, with its cancellation event', async () => {
    takeSpans();
    const outcomes = await fanOutSettled(
      [0, 1],
      async (n, { signal }) => {
        if (n === 0)
          await wait(60_000, signal); // gives up when the timeout aborts it
        else await sleep(80); // ignores its signal and returns late
        return n;
      },
      { timeout: 20 },
    );
    assert.ok(outcomes.every((o) => o.status === 'rejected' && o.reason instanceof TimeoutError));
    const spans = takeSpans();
    for (const t of tasksByIndex(spans)) {
      assert.equal(t.status.code, 2);
      assert.equal(t.attributes['error.type'], 'TimeoutError');
      assert.match(
        String(cancelEvents(t)[0]!.attributes!['fanout.cancel.reason']),
        /^TimeoutError/,
      );
    }
    assert.equal(one(spans, 'fanOutSettled').attributes['fanout.timeout_ms'], 20);
  });

  it("treats the caller's abort as a cancellation of the call, not an error", async () => {
    takeSpans();
    const controller = new AbortController();
    const reason = new Error('user left');
    const call = fanOut([1, 2], (_, { signal }) => wait(60_000, signal), {
      signal: controller.signal,
    });
    await sleep(5);
    controller.abort(reason);
    await assert.rejects(call, reason);
    const spans = takeSpans();
    const span = one(spans, 'fanOut');
    assert.equal(span.status.code, 0);
    assert.equal(cancelEvents(span)[0]!.attributes!['fanout.cancel.reason'], 'Error: user left');
    assert.equal(span.attributes['fanout.tasks.cancelled'], 2);
    for (const t of tasksByIndex(spans)) {
      assert.equal(t.status.code, 0);
      assert.equal(cancelEvents(t).length, 1);
    }
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });

  it('starts no span for an already aborted signal', async () => {
    takeSpans();
    const signal = AbortSignal.abort(new Error('too late'));
    let ran = false;
    await assert.rejects(
      fanOut(
        [1],
        () => {
          ran = true;
        },
        { signal },
      ),
      /too late/,
    );
    assert.equal(ran, false);
    assert.deepEqual(takeSpans(), []);
  });

  it('leaves no listener on the caller signal after a traced call', async () => {
    takeSpans();
    const controller = new AbortController();
    await fanOut([1, 2, 3], async (n) => n, { signal: controller.signal, concurrency: 1 });
    await fanOutSettled([1], () => Promise.reject(new Error('x')), { signal: controller.signal });
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
    assert.equal(byName(takeSpans(), 'fanout.task').length, 4);
  });

  it('marks a call that fails with an AggregateTaskError', async () => {
    takeSpans();
    await assert.rejects(
      fanOut([1, 2], () => Promise.reject(new Error('no')), { failFast: false }),
      AggregateTaskError,
    );
    const call = one(takeSpans(), 'fanOut');
    assert.equal(call.status.code, 2);
    assert.equal(call.attributes['error.type'], 'AggregateTaskError');
    assert.equal(call.attributes['fanout.fail_fast'], false);
    assert.equal(call.attributes['fanout.tasks.failed'], 2);
  });

  it('leaves out the total for input of unknown length', async () => {
    takeSpans();
    async function* gen() {
      yield 1;
      yield 2;
    }
    assert.deepEqual(await fanOut(gen(), (n) => n), [1, 2]);
    const spans = takeSpans();
    assert.equal(one(spans, 'fanOut').attributes['fanout.total'], undefined);
    assert.equal(byName(spans, 'fanout.task').length, 2);
  });

  it('records nothing under a parent span that was not sampled', async () => {
    takeSpans();
    const unsampled = trace.setSpanContext(context.active(), {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: TraceFlags.NONE,
    });
    const out = await context.with(unsampled, () => fanOut([1, 2], (n) => n));
    assert.deepEqual(out, [1, 2]);
    assert.deepEqual(takeSpans(), []);
  });

  it('records nothing, and costs nothing per task, when switched off', async () => {
    takeSpans();
    switchTracing(false);
    try {
      assert.equal(traceCall('fanOut', {}, []), undefined);
      await fanOut([1, 2], (n) => n);
    } finally {
      switchTracing(true);
    }
    assert.deepEqual(takeSpans(), []);
    assert.notEqual(traceCall('fanOut', {}, []), undefined);
  });
});
