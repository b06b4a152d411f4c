// Sends the command's spans to an OpenTelemetry collector over OTLP/HTTP
// with JSON bodies, configured by the standard OTEL_* variables. Small and
// dependency-free on purpose: the OTLP exporter packages would make the
// command pull a second copy of the SDK.
//
// Read: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (full URL) or
// OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces), OTEL_EXPORTER_OTLP_HEADERS and
// OTEL_EXPORTER_OTLP_TRACES_HEADERS (k=v,k2=v2), OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, and OTEL_TRACES_EXPORTER=none to turn it off.
// OTEL_EXPORTER_OTLP_PROTOCOL must be http/json when set (else a warning, no spans).

import type { Attributes, AttributeValue } from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** The collector URL that `env` (tests pass their own) asks for, or undefined for none. */
export function otlpEndpoint(env = process.env): string | undefined {
  if (env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const full = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!full && !base) return undefined;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol !== undefined && protocol !== 'http/json') {
    // Set for other programs perhaps: say so, and run untraced rather than fail.
    process.stderr.write(
      `fanout: not sending spans: OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported, only http/json\n`,
    );
    return undefined;
  }
  return full || `${base!.replace(/\/+$/, '')}/v1/traces`;
}

/** Parses `k=v,k2=v2` with percent-encoded values, as the OTEL_* variables write them. */
function pairs(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

type OtlpValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpValue[] } };

function value(v: AttributeValue | undefined): OtlpValue {
  if (Array.isArray(v)) return { arrayValue: { values: v.map((x) => value(x ?? '')) } };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number')
    return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: String(v) };
}

function attributes(attrs: Attributes): { key: string; value: OtlpValue }[] {
  return Object.entries(attrs).map(([key, v]) => ({ key, value: value(v) }));
}

function nanos(t: [number, number]): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}

/** Posts batches of spans to `url` as OTLP JSON, with the headers and resource that `env` sets. */
export class OtlpJsonExporter implements SpanExporter {
  private readonly headers: Record<string, string>;
  private readonly resource: Record<string, string>;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly url: string,
    env = process.env,
  ) {
    this.headers = {
      ...pairs(env.OTEL_EXPORTER_OTLP_HEADERS),
      ...pairs(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS),
      'content-type': 'application/json',
    };
    const attrs = pairs(env.OTEL_RESOURCE_ATTRIBUTES);
    // As the OTel spec orders them: OTEL_SERVICE_NAME, then a service.name in
    // OTEL_RESOURCE_ATTRIBUTES, then our default.
    this.resource = {
      ...attrs,
      'service.name': env.OTEL_SERVICE_NAME ?? attrs['service.name'] ?? 'fanout',
    };
  }

  export(spans: ReadableSpan[], done: (result: { code: number; error?: Error }) => void): void {
    const resource = { ...spans[0]?.resource.attributes, ...this.resource };
    const byScope = new Map<string, ReadableSpan[]>();
    for (const s of spans) {
      const name = s.instrumentationScope.name;
      byScope.set(name, [...(byScope.get(name) ?? []), s]);
    }
    const body = {
      resourceSpans: [
        {
          resource: { attributes: attributes(resource) },
          scopeSpans: [...byScope].map(([name, group]) => ({
            scope: { name },
            spans: group.map((s) => ({
              traceId: s.spanContext().traceId,
              spanId: s.spanContext().spanId,
              parentSpanId: s.parentSpanContext?.spanId,
              name: s.name,
              // OTLP counts kinds from 1 (INTERNAL); the API from 0.
              kind: s.kind + 1,
              startTimeUnixNano: nanos(s.startTime),
              endTimeUnixNano: nanos(s.endTime),
              attributes: attributes(s.attributes),
              events: s.events.map((e) => ({
                name: e.name,
                timeUnixNano: nanos(e.time),
                attributes: attributes(e.attributes ?? {}),
              })),
              status: { code: s.status.code, message: s.status.message },
            })),
          })),
        },
      ],
    };
    const sent = fetch(this.url, {
      method: 'POST',
      headers: this.headers,
      body: JSON.stringify(body),
      // A collector that never answers must not hold the command at exit.
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        if (!res.ok) throw new Error(`the collector at ${this.url} answered ${res.status}`);
        done({ code: 0 });
      })
      .catch((err: Error) => {
        process.stderr.write(`fanout: cannot send spans: ${err.message}\n`);
        done({ code: 1, error: err });
      })
      .finally(() => this.pending.delete(sent));
    this.pending.add(sent);
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.pending);
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.pending);
  }
}
