import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { fanOut } from '../../src/index.ts';
import { type ThreadPool, threadPool } from '../../src/threads/index.ts';

const tasks = new URL('../fixtures/threads-otel-tasks.ts', import.meta.url);
const setup = new URL('../fixtures/threads-otel-setup.ts', import.meta.url);

describe('threadPool trace context', () => {
  let pool: ThreadPool;
  before(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
    pool = threadPool({ module: tasks, setup, size: 2 });
    await pool.ready();
  });
  after(() => pool.close());

  it("joins spans made in a thread to the caller's trace when the setup module registers an SDK", async () => {
    const tracer = trace.getTracer('threads-test');
    await tracer.startActiveSpan('caller', async (span) => {
      try {
        const out = await fanOut(
          [1, 2, 3, 4],
          pool.task<number, { traceId: string }>('traceOfNewSpan'),
        );
        for (const r of out) assert.equal(r.traceId, span.spanContext().traceId);
      } finally {
        span.end();
      }
    });
  });

  it('starts a trace of its own in the thread when the caller has none', async () => {
    const a = (await pool.task('traceOfNewSpan')(null)) as { traceId: string };
    const b = (await pool.task('traceOfNewSpan')(null)) as { traceId: string };
    assert.notEqual(a.traceId, b.traceId);
  });
});
