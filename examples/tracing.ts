// The seed's example with OpenTelemetry: register an SDK once, and every
// fanOut shows up in the trace with no further code. Task 2 fails; the
// running siblings are cancelled and the rest never start. The span tree,
// with durations and events, and the task metrics are printed at the end.
//
// Run: node --import tsx examples/tracing.ts
//
// A real application would export to a collector instead of keeping spans
// in memory: see docs/tracing.md.

import { setTimeout as sleep } from 'node:timers/promises';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { fanOut, type TaskContext } from '../src/index.ts';

// 1. The application's setup, done once at startup.
const exporter = new InMemorySpanExporter();
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);
class Reader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const reader = new Reader();
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

// 2. The seed's code: nothing in it mentions tracing but its own query span.
const tracer = trace.getTracer('example');

interface Task {
  id: number;
  ms: number;
  fail?: boolean;
}

async function doSomething(task: Task, { signal }: TaskContext): Promise<string> {
  // A span the task starts itself (an instrumented driver would do the
  // same) nests under the task's span.
  await tracer.startActiveSpan('db.query', async (span) => {
    try {
      await sleep(5, undefined, { signal });
    } finally {
      span.end();
    }
  });
  await sleep(task.ms, undefined, { signal });
  if (task.fail) throw new Error(`task ${task.id} failed`);
  return `result ${task.id}`;
}

const tasks: Task[] = Array.from({ length: 8 }, (_, id) => ({
  id,
  ms: 15 + ((id * 37) % 50),
  fail: id === 2,
}));

const outcome = await tracer.startActiveSpan('processTasks', async (span) => {
  try {
    await fanOut(tasks, doSomething, { concurrency: 4, name: 'doSomething.parallel' });
    return 'resolved';
  } catch (err) {
    return `rejected: ${(err as Error).message}`;
  } finally {
    span.end();
  }
});
console.log(`fanOut ${outcome}\n`);

// 3. What the SDK received, as a tree.
const spans = exporter.getFinishedSpans();
const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
const root = spans.find((s) => s.parentSpanContext === undefined)!;
const t0 = ms(root.startTime);

function describe(s: ReadableSpan): string {
  const a = s.attributes;
  const parts = [s.name];
  if (a['fanout.task.index'] !== undefined) parts.push(`#${a['fanout.task.index']}`);
  const start = (ms(s.startTime) - t0).toFixed(1).padStart(5);
  parts.push(`  @${start} ms  ${ms(s.duration).toFixed(1).padStart(5)} ms`);
  if (a['fanout.task.slot_wait_ms'] !== undefined) {
    parts.push(`  waited ${(a['fanout.task.slot_wait_ms'] as number).toFixed(1)} ms`);
  }
  if (a['fanout.tasks.succeeded'] !== undefined) {
    parts.push(
      `  concurrency=${a['fanout.concurrency']} total=${a['fanout.total']}` +
        ` succeeded=${a['fanout.tasks.succeeded']} failed=${a['fanout.tasks.failed']}` +
        ` cancelled=${a['fanout.tasks.cancelled']}`,
    );
  }
  if (s.status.code === 2) parts.push(`  ERROR ${s.status.message}`);
  return parts.join('');
}

function events(s: ReadableSpan): string[] {
  return s.events.map((e) => {
    const at = `@${(ms(e.time) - t0).toFixed(1)} ms`;
    if (e.name === 'exception')
      return `event exception ${at}: ${e.attributes?.['exception.message']}`;
    return `event ${e.name} ${at}: ${e.attributes?.['fanout.cancel.reason']}`;
  });
}

/** Tasks by index, other spans by start time (the SDK stamps starts in whole ms). */
function order(s: ReadableSpan): number {
  const index = s.attributes['fanout.task.index'];
  return typeof index === 'number' ? index : ms(s.startTime);
}

function print(s: ReadableSpan, prefix: string, last: boolean, top: boolean): void {
  console.log(`${prefix}${top ? '' : last ? '└─ ' : '├─ '}${describe(s)}`);
  const inner = prefix + (top ? '' : last ? '   ' : '│  ');
  const children = spans
    .filter((c) => c.parentSpanContext?.spanId === s.spanContext().spanId)
    .sort((x, y) => order(x) - order(y));
  for (const line of events(s))
    console.log(`${inner}${children.length > 0 ? '│  ' : '   '}· ${line}`);
  for (const [i, c] of children.entries()) print(c, inner, i === children.length - 1, false);
}
print(root, '', true, true);
const call = spans.find((s) => s.name.startsWith('fanOut'))!;
const ran = new Set(spans.map((s) => s.attributes['fanout.task.index']));
const never = Array.from({ length: call.attributes['fanout.total'] as number }, (_, i) => i).filter(
  (i) => !ran.has(i),
);
console.log(`   never started: ${never.map((i) => `#${i}`).join(', ') || 'none'}`);

// 4. The task metrics, as a MetricReader would export them.
const { resourceMetrics } = await reader.collect();
console.log('\nmetrics:');
for (const m of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
  for (const p of m.dataPoints) {
    const v = p.value as number | { count: number; sum: number };
    const shown =
      typeof v === 'number' ? String(v) : `count=${v.count} sum=${(v.sum * 1e3).toFixed(1)} ms`;
    console.log(`  ${m.descriptor.name}{task=${p.attributes['fanout.task.name']}} ${shown}`);
  }
}
