import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { BasicTracerProvider, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OtlpJsonExporter, otlpEndpoint } from '../../src/cli/internal/otlp.ts';

/** Calls `fn` with stderr captured instead of printed; returns what it wrote. */
function stderrOf(t: TestContext, fn: () => void): string {
  let text = '';
  const write = t.mock.method(process.stderr, 'write', (chunk: string) => {
    text += chunk;
    return true;
  });
  try {
    fn();
  } finally {
    write.mock.restore();
  }
  return text;
}

interface Received {
  headers: IncomingHttpHeaders;
  body: {
    resourceSpans: {
      resource: { attributes: { key: string; value: unknown }[] };
      scopeSpans: { scope: { name: string }; spans: { name: string }[] }[];
    }[];
  };
}

/** Exports one ended span through an exporter built from `env`; returns what the collector got. */
async function exportOne(env: NodeJS.ProcessEnv): Promise<Received> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (s: string) => (body += s));
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(body) });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const exporter = new OtlpJsonExporter(`http://127.0.0.1:${port}/v1/traces`, env);
    const span = new BasicTracerProvider().getTracer('otlp-test').startSpan('one');
    span.end();
    const result = await new Promise<{ code: number; error?: Error }>((resolve) =>
      exporter.export([span as unknown as ReadableSpan], resolve),
    );
    assert.equal(result.code, 0, result.error?.message);
    await exporter.shutdown();
    assert.equal(received.length, 1);
    return received[0]!;
  } finally {
    server.close();
  }
}

function resourceOf(r: Received): Record<string, unknown> {
  const attrs = r.body.resourceSpans[0]!.resource.attributes;
  return Object.fromEntries(attrs.map((a) => [a.key, a.value]));
}

describe('otlpEndpoint', () => {
  it('is undefined when no endpoint variable is set', () => {
    assert.equal(otlpEndpoint({}), undefined);
    assert.equal(otlpEndpoint({ OTEL_SERVICE_NAME: 'x' }), undefined);
  });

  it('appends /v1/traces to OTEL_EXPORTER_OTLP_ENDPOINT, whatever slashes end it', () => {
    for (const base of [
      'http://collector:4318',
      'http://collector:4318/',
      'http://collector:4318//',
    ]) {
      assert.equal(
        otlpEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: base }),
        'http://collector:4318/v1/traces',
      );
    }
  });

  it('takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as the full URL, before the base one', () => {
    assert.equal(
      otlpEndpoint({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://base:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom',
      }),
      'http://traces:9999/custom',
    );
  });

  it('is undefined with OTEL_TRACES_EXPORTER=none', () => {
    assert.equal(
      otlpEndpoint({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }),
      undefined,
    );
  });

  it('accepts http/json and refuses any other protocol with a warning', (t) => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    assert.equal(
      otlpEndpoint({ ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }),
      'http://c:4318/v1/traces',
    );
    let url: string | undefined = '';
    const warning = stderrOf(t, () => {
      url = otlpEndpoint({ ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    });
    assert.equal(url, undefined);
    assert.match(warning, /not sending spans: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported/);
  });

  it('lets OTEL_EXPORTER_OTLP_TRACES_PROTOCOL override OTEL_EXPORTER_OTLP_PROTOCOL', (t) => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
    assert.equal(
      otlpEndpoint({
        ...env,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
      }),
      'http://c:4318/v1/traces',
    );
    let url: string | undefined = '';
    const warning = stderrOf(t, () => {
      url = otlpEndpoint({
        ...env,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      });
    });
    assert.equal(url, undefined);
    assert.match(warning, /http\/protobuf is not supported/);
  });
});

describe('OtlpJsonExporter', () => {
  it('sends the headers of OTEL_EXPORTER_OTLP_HEADERS, overridden by the traces ones, percent-decoded', async () => {
    const r = await exportOne({
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s%20ecret, x-tenant=a',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=b%2Cc,=ignored,novalue',
    });
    assert.equal(r.headers['x-api-key'], 's ecret');
    assert.equal(r.headers['x-tenant'], 'b,c');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.body.resourceSpans[0]!.scopeSpans[0]!.scope.name, 'otlp-test');
    assert.equal(r.body.resourceSpans[0]!.scopeSpans[0]!.spans[0]!.name, 'one');
  });

  it('names the service by OTEL_SERVICE_NAME, else fanout, and adds OTEL_RESOURCE_ATTRIBUTES', async () => {
    const named = resourceOf(
      await exportOne({
        OTEL_SERVICE_NAME: 'resizer',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,host.name=h%201',
      }),
    );
    assert.deepEqual(named['service.name'], { stringValue: 'resizer' });
    assert.deepEqual(named['deployment.environment'], { stringValue: 'prod' });
    assert.deepEqual(named['host.name'], { stringValue: 'h 1' });
    const unnamed = resourceOf(await exportOne({}));
    assert.deepEqual(unnamed['service.name'], { stringValue: 'fanout' });
  });

  it('takes service.name from OTEL_RESOURCE_ATTRIBUTES when OTEL_SERVICE_NAME is not set', async () => {
    const attrs = 'service.name=from-attrs';
    const fromAttrs = resourceOf(await exportOne({ OTEL_RESOURCE_ATTRIBUTES: attrs }));
    assert.deepEqual(fromAttrs['service.name'], { stringValue: 'from-attrs' });
    const both = resourceOf(
      await exportOne({ OTEL_RESOURCE_ATTRIBUTES: attrs, OTEL_SERVICE_NAME: 'from-name' }),
    );
    assert.deepEqual(both['service.name'], { stringValue: 'from-name' });
  });
});
