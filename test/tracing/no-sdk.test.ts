import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { fanOut, fanOutSettled, Group } from '../../src/index.ts';
import { traceCall } from '../../src/tracing/calls.ts';
import { traceGroup } from '../../src/tracing/group.ts';

// The API is installed but no SDK is registered: a context manager alone
// (as some frameworks set up) records nothing either.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

describe('tracing without an SDK', () => {
  it('opens no trace for a call or a group, so tasks run unwrapped', () => {
    assert.equal(traceCall('fanOut', { name: 'x', retry: { attempts: 2 } }, [1]), undefined);
    assert.equal(traceGroup(undefined, 4), undefined);
  });

  it('runs calls and groups as usual, failures and cancellations included', async () => {
    let seen: unknown;
    const fn = (n: number, ctx: { signal: AbortSignal }) => {
      seen = trace.getActiveSpan();
      if (n === 2) throw new Error('two');
      return sleep(n, n, { signal: ctx.signal });
    };
    assert.deepEqual(await fanOut([1, 3], fn, { name: 'x' }), [1, 3]);
    await assert.rejects(fanOut([1, 2, 50], fn), /two/);
    const settled = await fanOutSettled([1, 2], fn, { retry: { attempts: 2, backoff: 0 } });
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected'],
    );
    const g = new Group();
    await g.go(() => sleep(1));
    await g.wait();
    // No span was ever made active around a task.
    assert.equal(seen, undefined);
  });

  it('leaves the active context of the caller visible to its tasks', async () => {
    const key = Symbol('request');
    const ctx = context.active().setValue(key, 'r-1');
    const seen = await context.with(ctx, () =>
      fanOut([1, 2], async () => {
        await sleep(1);
        return context.active().getValue(key);
      }),
    );
    assert.deepEqual(seen, ['r-1', 'r-1']);
  });
});
