import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AggregateTaskError,
  CancelledError,
  RemoteTaskError,
  TaskModuleError,
  TimeoutError,
  WorkerExitedError,
} from '../../src/errors.ts';
import { decode, encode } from '../../src/internal/error-codec.ts';

/** Sends an envelope the way fanout/bullmq does: through JSON. */
const overJson = (value: unknown) => decode(JSON.parse(JSON.stringify(encode(value, true))));
/** Sends an envelope the way fanout/threads does: by structured clone. */
const overClone = (value: unknown) => decode(structuredClone(encode(value)));

describe('error codec', () => {
  for (const [transport, send] of [
    ['JSON', overJson],
    ['structured clone', overClone],
  ] as const) {
    describe(`over ${transport}`, () => {
      it('recreates built-in errors with their message, remote stack, code and cause', () => {
        const cause = new RangeError('inner');
        const err = Object.assign(new TypeError('outer', { cause }), { code: 'E_X', retry: 3 });
        const back = send(err) as TypeError & { code: string; retry: number };
        assert.ok(back instanceof TypeError);
        assert.equal(back.message, 'outer');
        assert.equal(back.stack, err.stack);
        assert.equal(back.code, 'E_X');
        assert.equal(back.retry, 3);
        assert.ok(back.cause instanceof RangeError);
      });

      it('recreates fanout’s own classes with their fields', () => {
        assert.ok(send(new CancelledError('stop')) instanceof CancelledError);
        assert.equal((send(new TimeoutError(250)) as TimeoutError).ms, 250);
        const mod = send(
          new TaskModuleError('no export', 'file:///t.js', 'resize'),
        ) as TaskModuleError;
        assert.deepEqual([mod.module, mod.task], ['file:///t.js', 'resize']);
        assert.equal((send(new WorkerExitedError('died', 137)) as WorkerExitedError).exitCode, 137);
      });

      it('turns other classes into a RemoteTaskError that keeps the name and code', () => {
        class HttpError extends Error {
          override name = 'HttpError';
          code = 'E_HTTP';
        }
        const back = send(new HttpError('502')) as RemoteTaskError;
        assert.ok(back instanceof RemoteTaskError);
        assert.equal(back.remoteName, 'HttpError');
        assert.equal(back.remoteCode, 'E_HTTP');
        assert.equal(back.message, '502');
      });

      it('keeps AggregateError members and DOMException names', () => {
        const agg = send(new AggregateError([new Error('a'), 'b'], 'both')) as AggregateError;
        assert.ok(agg instanceof AggregateError);
        assert.deepEqual(
          agg.errors.map((e) => (e instanceof Error ? e.message : e)),
          ['a', 'b'],
        );
        const dom = send(new DOMException('gone', 'AbortError')) as DOMException;
        assert.equal(dom.name, 'AbortError');
      });

      it('recreates an AggregateTaskError with its errors, indices and message', () => {
        const cause = new Error('why');
        const err = new AggregateTaskError([new RangeError('a'), 'b'], [1, 4], 5);
        Object.defineProperty(err, 'cause', { value: cause, configurable: true });
        const back = send(err) as AggregateTaskError;
        assert.ok(back instanceof AggregateTaskError);
        assert.equal(back.name, 'AggregateTaskError');
        assert.equal(back.code, 'ERR_FANOUT_AGGREGATE');
        assert.equal(back.message, '2 of 5 tasks failed');
        assert.equal(back.stack, err.stack);
        assert.deepEqual(back.indices, [1, 4]);
        assert.ok(back.errors[0] instanceof RangeError);
        assert.equal((back.errors[0] as Error).message, 'a');
        assert.equal(back.errors[1], 'b');
        assert.equal((back.cause as Error).message, 'why');
      });

      it('keeps the errors, name, code and cause of any AggregateError subclass', () => {
        class BatchError extends AggregateError {
          override name = 'BatchError';
          code = 'E_BATCH';
          retry = 2;
        }
        const err = new BatchError([new TypeError('x')], 'batch failed', { cause: 'root' });
        const back = send(err) as AggregateError & { code: string; retry: number };
        assert.ok(back instanceof AggregateError);
        assert.equal(back.name, 'BatchError');
        assert.equal(back.code, 'E_BATCH');
        assert.equal(back.retry, 2);
        assert.equal(back.message, 'batch failed');
        assert.equal(back.stack, err.stack);
        assert.equal(back.cause, 'root');
        assert.equal(back.errors.length, 1);
        assert.ok(back.errors[0] instanceof TypeError);
      });

      it('passes a thrown value that is not an Error as it is', () => {
        assert.deepEqual(send({ status: 404 }), { status: 404 });
        assert.equal(send('plain'), 'plain');
      });
    });
  }

  it('names a thrown value that JSON cannot carry instead of losing it', () => {
    const back = overJson(10n) as Error;
    assert.ok(back instanceof Error);
    assert.match(back.message, /uncloneable thrown value: 10/);
  });
});
