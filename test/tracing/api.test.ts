// Loading @opentelemetry/api costs milliseconds at start-up: fanout puts it
// off until an application has registered something with the API. This
// file imports nothing of OpenTelemetry's before its last test.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fanOut } from '../../src/index.ts';
import { otelApi } from '../../src/tracing/api.ts';

const require = createRequire(import.meta.url);
const apiLoaded = () => Object.keys(require.cache).some((p) => p.includes('@opentelemetry/api/'));

describe('the optional API', () => {
  it('is not loaded while nothing is registered, however many calls run', async () => {
    assert.deepEqual(await fanOut([1, 2], (x) => x * 2), [2, 4]);
    assert.equal(otelApi(), undefined);
    assert.equal(apiLoaded(), false);
  });

  it('is loaded once the application registers something with it', async () => {
    const api = await import('@opentelemetry/api');
    assert.equal(otelApi(), undefined, 'importing alone registers nothing');
    api.propagation.setGlobalPropagator({
      inject() {},
      extract: (ctx) => ctx,
      fields: () => [],
    });
    try {
      assert.ok(otelApi() !== undefined);
      assert.deepEqual(await fanOut([1], (x) => x), [1]);
    } finally {
      api.propagation.disable();
    }
  });
});
