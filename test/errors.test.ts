import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as fanout from '../src/index.ts';

describe('errors', () => {
  const classes = Object.entries(fanout).filter(
    ([name, value]) => typeof value === 'function' && name.endsWith('Error'),
  ) as [string, new (...args: never[]) => Error & { code: string }][];

  it('each error class has its class name as name and a stable ERR_FANOUT code', () => {
    assert.ok(classes.length >= 9);
    const codes = new Set<string>();
    for (const [name, Class] of classes) {
      const err =
        name === 'AggregateTaskError'
          ? new (
              Class as unknown as new (
                e: unknown[],
                i: number[],
                t: number,
              ) => Error & { code: string }
            )([], [], 0)
          : new (Class as unknown as new (m: string | number) => Error & { code: string })(1);
      assert.equal(err.name, name);
      assert.match(err.code, /^ERR_FANOUT/);
      assert.ok(err instanceof Error);
      codes.add(err.code);
    }
    assert.equal(codes.size, classes.length, 'codes are distinct');
  });

  it('every fanout error but the aggregate one is a FanoutError', () => {
    for (const [name, Class] of classes) {
      if (name === 'AggregateTaskError') continue;
      assert.ok(
        Class.prototype instanceof fanout.FanoutError || Class === fanout.FanoutError,
        name,
      );
    }
  });
});
