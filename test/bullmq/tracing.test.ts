import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { bullmqExecutor, serveTasks } from '../../src/bullmq/index.ts';
import { connection, deleteUnder, Redis } from '../fixtures/bullmq-helpers.ts';

// What an application does on both sides: register an SDK and a propagator.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
trace.setGlobalTracerProvider(new BasicTracerProvider());

const prefix = `test-bullmq-trace-${process.pid}-${Date.now()}`;
const redis = new Redis(connection);

after(async () => {
  await deleteUnder(redis, prefix);
  await redis.quit();
});

describe('bullmqExecutor tracing', () => {
  it('carries the trace context in the job, so the task runs in the caller trace', async () => {
    const server = await serveTasks({
      module: new URL('../fixtures/bullmq-tasks.ts', import.meta.url),
      connection,
      queue: 'trace',
      prefix,
    });
    const cluster = bullmqExecutor({ connection, queue: 'trace', prefix });
    try {
      const tracer = trace.getTracer('test');
      await tracer.startActiveSpan('caller', async (span) => {
        const remote = await cluster.task('traceId')(null);
        assert.equal(remote, span.spanContext().traceId);
        span.end();
      });
      assert.equal(await cluster.task('traceId')(null), null);
    } finally {
      await cluster.close();
      await server.close();
    }
  });
});
