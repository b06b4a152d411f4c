// Loads @opentelemetry/api if the application has it. It is an optional
// peer dependency: without it every tracing hook is a no-op, and fanout
// never fails for want of it. Loaded with require so that the core stays
// synchronous to import; the API keeps its globals on globalThis, so this
// copy sees the SDK an application registered through its own import.

import { createRequire } from 'node:module';

export type OtelApi = typeof import('@opentelemetry/api');

function load(): OtelApi | undefined {
  try {
    return createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
  } catch {
    return undefined;
  }
}

/** The application's @opentelemetry/api, or undefined when it has none. */
export const otel: OtelApi | undefined = load();
