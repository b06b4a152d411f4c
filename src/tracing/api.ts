// Finds @opentelemetry/api if the application has it. It is an optional
// peer dependency: without it every tracing hook is a no-op, and fanout
// never fails for want of it. Loaded with require so that the core stays
// synchronous to import; the API keeps its globals on globalThis, so this
// copy sees the SDK an application registered through its own import.
//
// Loading the API costs 15-20 ms, so it is put off until something has been
// registered with it: every 1.x release keeps its registrations (tracer and
// meter providers, propagator, context manager) under one global symbol,
// and without that symbol there is nothing to record with.

import { createRequire } from 'node:module';

export type OtelApi = typeof import('@opentelemetry/api');

const REGISTRY = Symbol.for('opentelemetry.js.api.1');

let api: OtelApi | undefined | null = null;

/** Loads the application's @opentelemetry/api now; undefined when it has none. */
export function loadOtel(): OtelApi | undefined {
  if (api === null) {
    try {
      api = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      api = undefined;
    }
  }
  return api;
}

/**
 * The application's @opentelemetry/api once anything has been registered
 * with it; undefined before that, or when it is not installed.
 */
export function otelApi(): OtelApi | undefined {
  if (api !== null) return api;
  return (globalThis as Record<symbol, unknown>)[REGISTRY] === undefined ? undefined : loadOtel();
}
