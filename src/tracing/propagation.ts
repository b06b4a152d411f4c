// Carries the active trace context across a thread or machine boundary as a
// plain object of strings (W3C traceparent/tracestate with the usual SDK
// setup), for the executors to put in their messages and jobs.

import { otelApi } from './api.ts';

/** A serialisable trace context: header names to values. */
export type TraceCarrier = Record<string, string>;

/**
 * injectTraceContext returns the active context as a carrier, or undefined
 * when there is nothing to carry (no API, no propagator, no active span).
 */
export function injectTraceContext(): TraceCarrier | undefined {
  const otel = otelApi();
  if (otel === undefined) return undefined;
  const carrier: TraceCarrier = {};
  otel.propagation.inject(otel.context.active(), carrier);
  for (const _ in carrier) return carrier;
  return undefined;
}

/**
 * withTraceContext runs `fn` inside the context a carrier describes, so
 * that spans it starts join the caller's trace; without a carrier or an API
 * it just runs `fn`.
 */
export function withTraceContext<R>(carrier: TraceCarrier | undefined, fn: () => R): R {
  const otel = carrier === undefined ? undefined : otelApi();
  if (otel === undefined || carrier === undefined) return fn();
  const ctx = otel.propagation.extract(otel.context.active(), carrier);
  return otel.context.with(ctx, fn);
}
