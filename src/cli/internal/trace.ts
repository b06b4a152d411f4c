// `--trace FILE` and the OTEL_EXPORTER_OTLP_* variables: registers an
// OpenTelemetry SDK for this run, so the spans fanout makes (a span per call
// and per task attempt, in src/tracing) and the command's own root span are
// written to FILE, one JSON object a line, and/or sent to a collector. The
// SDK is loaded only then.

import { appendFileSync, writeFileSync } from 'node:fs';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { loadOtel } from '../../tracing/api.ts';
import { OtlpJsonExporter, otlpEndpoint } from './otlp.ts';
import { UsageError } from './usage.ts';

/** A registered tracer: `span` runs the command inside its root span. */
export interface Tracing {
  span<T>(name: string, fn: () => Promise<T>): Promise<T>;
  shutdown(): Promise<void>;
}

const NONE: Tracing = { span: (_name, fn) => fn(), shutdown: async () => {} };

/**
 * Sets up tracing to `file` and to the collector the OTEL_* variables name
 * (see otlp.ts), or nothing when neither is asked for.
 */
export async function startTracing(file: string | undefined): Promise<Tracing> {
  const endpoint = otlpEndpoint();
  if (file === undefined && endpoint === undefined) return NONE;
  const api = loadOtel();
  let sdk: typeof import('@opentelemetry/sdk-trace-base');
  let hooks: typeof import('@opentelemetry/context-async-hooks');
  let core: typeof import('@opentelemetry/core');
  try {
    if (api === undefined) throw new Error('@opentelemetry/api is not installed');
    sdk = await import('@opentelemetry/sdk-trace-base');
    hooks = await import('@opentelemetry/context-async-hooks');
    core = await import('@opentelemetry/core');
  } catch (err) {
    const why = `the OpenTelemetry SDK is not installed (${(err as Error).message})`;
    const install =
      'npm install @opentelemetry/api @opentelemetry/sdk-trace-base @opentelemetry/context-async-hooks';
    // Variables set for other programs must not stop this one: say it and run untraced.
    if (file === undefined) {
      process.stderr.write(`fanout: not sending spans to ${endpoint}: ${why}; ${install}\n`);
      return NONE;
    }
    throw new UsageError(`--trace needs the OpenTelemetry SDK: ${why}`, install);
  }
  const exporters: SpanExporter[] = [];
  if (file !== undefined) {
    try {
      writeFileSync(file, '');
    } catch (err) {
      throw new UsageError(`cannot write the trace file: ${(err as Error).message}`);
    }
    exporters.push(new FileExporter(file));
  }
  if (endpoint !== undefined) exporters.push(new OtlpJsonExporter(endpoint));
  const provider = new sdk.BasicTracerProvider({
    spanProcessors: exporters.map(
      (e) => new sdk.BatchSpanProcessor(e, { scheduledDelayMillis: 500 }),
    ),
  });
  api.context.setGlobalContextManager(new hooks.AsyncLocalStorageContextManager().enable());
  api.propagation.setGlobalPropagator(new core.W3CTraceContextPropagator());
  api.trace.setGlobalTracerProvider(provider);
  const tracer = api.trace.getTracer('fanout-cli');
  return {
    span(name, fn) {
      return tracer.startActiveSpan(name, async (span) => {
        try {
          return await fn();
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: api.SpanStatusCode.ERROR, message: String(err) });
          throw err;
        } finally {
          span.end();
        }
      });
    },
    async shutdown() {
      // An exporter that failed has said so on stderr; the run's outcome stands.
      await provider.shutdown().catch(() => {});
    },
  };
}

function nanos(t: [number, number]): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}

/** Appends each span as one line of JSON, in the shape of OTLP's JSON encoding, flattened. */
class FileExporter implements SpanExporter {
  constructor(private readonly file: string) {}

  export(spans: ReadableSpan[], done: (result: { code: number; error?: Error }) => void): void {
    let text = '';
    for (const s of spans) {
      const ctx = s.spanContext();
      text += `${JSON.stringify({
        traceId: ctx.traceId,
        spanId: ctx.spanId,
        parentSpanId: s.parentSpanContext?.spanId,
        name: s.name,
        kind: s.kind,
        startTimeUnixNano: nanos(s.startTime),
        endTimeUnixNano: nanos(s.endTime),
        durationMs: s.duration[0] * 1e3 + s.duration[1] / 1e6,
        status: s.status,
        attributes: s.attributes,
        events: s.events.map((e) => ({
          name: e.name,
          timeUnixNano: nanos(e.time),
          attributes: e.attributes,
        })),
        scope: s.instrumentationScope.name,
      })}\n`;
    }
    try {
      appendFileSync(this.file, text);
      done({ code: 0 });
    } catch (err) {
      done({ code: 1, error: err as Error });
    }
  }

  async shutdown(): Promise<void> {}
}
