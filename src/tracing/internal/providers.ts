// The tracer and the instruments fanout records with, looked up once per
// call. The application may register (or replace) its SDK at any time, so
// each lookup compares the global provider with the one seen last and
// rebuilds only when it changed: a pointer comparison in the steady state.

import { createRequire } from 'node:module';
import type {
  Counter,
  Histogram,
  Meter,
  MeterProvider,
  Tracer,
  TracerProvider,
  UpDownCounter,
} from '@opentelemetry/api';
import { otelApi } from '../api.ts';

/** The instrumentation scope name that fanout's spans and metrics carry. */
export const SCOPE = 'fanout';

function packageVersion(): string | undefined {
  // src/tracing/internal and dist/tracing/internal are three levels deep,
  // the bundled command (dist/cli/main.js) two: look upwards for our own.
  const require = createRequire(import.meta.url);
  for (const path of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = require(path) as { name?: unknown; version?: unknown };
      if (pkg.name === 'fanout' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

let version: string | undefined | null = null;
function scopeVersion(): string | undefined {
  if (version === null) version = packageVersion();
  return version;
}

let tracerProvider: TracerProvider | undefined;
let cachedTracer: Tracer | undefined;
// What the API's proxy provider delegates to until an SDK is registered.
let noopProvider: TracerProvider | undefined;

/**
 * fanout's tracer from the global provider, or undefined without the API
 * or without an SDK: then starting a span would make a no-op one, slower
 * than this check.
 */
export function tracer(): Tracer | undefined {
  const otel = otelApi();
  if (otel === undefined) return undefined;
  noopProvider ??= new otel.ProxyTracerProvider().getDelegate();
  const provider = otel.trace.getTracerProvider();
  if (provider instanceof otel.ProxyTracerProvider && provider.getDelegate() === noopProvider) {
    return undefined;
  }
  if (provider !== tracerProvider) {
    tracerProvider = provider;
    cachedTracer = provider.getTracer(SCOPE, scopeVersion());
  }
  return cachedTracer;
}

/** The metric instruments of the task attempts fanout runs. */
export interface Instruments {
  started: Counter;
  succeeded: Counter;
  failed: Counter;
  cancelled: Counter;
  active: UpDownCounter;
  duration: Histogram;
  slotWait: Histogram;
}

let meterProvider: MeterProvider | undefined;
let cachedInstruments: Instruments | undefined;

/**
 * The instruments of the global MeterProvider, or undefined when no
 * MeterProvider is registered (or the API predates metrics, before 1.3).
 */
export function instruments(): Instruments | undefined {
  const metrics = otelApi()?.metrics;
  if (metrics === undefined) return undefined;
  const provider = metrics.getMeterProvider();
  if (provider !== meterProvider) {
    meterProvider = provider;
    cachedInstruments = create(provider.getMeter(SCOPE, scopeVersion()));
  }
  return cachedInstruments;
}

// Seconds, as OpenTelemetry's conventions want for durations, with buckets
// from 0.1 ms: most tasks are I/O of a few ms, many are far shorter.
const SECONDS = [
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

function create(meter: Meter): Instruments | undefined {
  // The API hands out a no-op meter until an SDK is registered; recording
  // into it would cost per task for nothing.
  const noop = otelApi()?.createNoopMeter?.();
  if (noop !== undefined && meter instanceof noop.constructor) return undefined;
  const count = (name: string, description: string) =>
    meter.createCounter(name, { description, unit: '{task}' });
  const seconds = (name: string, description: string) =>
    meter.createHistogram(name, {
      description,
      unit: 's',
      advice: { explicitBucketBoundaries: SECONDS },
    });
  return {
    started: count('fanout.task.started', 'Task attempts started.'),
    succeeded: count('fanout.task.succeeded', 'Task attempts that returned a value.'),
    failed: count('fanout.task.failed', 'Task attempts that failed.'),
    cancelled: count(
      'fanout.task.cancelled',
      'Task attempts that ended because their call or group was cancelled.',
    ),
    active: meter.createUpDownCounter('fanout.task.active', {
      description: 'Task attempts running now.',
      unit: '{task}',
    }),
    duration: seconds('fanout.task.duration', 'Duration of task attempts.'),
    slotWait: seconds(
      'fanout.task.slot_wait',
      'Time a task waited for a free slot before its first attempt.',
    ),
  };
}
