import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Queue } from '../../src/channel/internal/queue.ts';

describe('Queue', () => {
  it('behaves like an array used as a queue over random push, shift and remove', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('push' as const), value: fc.nat(50) }),
      fc.record({ op: fc.constant('shift' as const) }),
      fc.record({ op: fc.constant('remove' as const), value: fc.nat(50) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new Queue<number>();
        const ref: number[] = [];
        for (const o of ops) {
          if (o.op === 'push') {
            q.push(o.value);
            ref.push(o.value);
          } else if (o.op === 'shift') {
            if (ref.length > 0) assert.equal(q.shift(), ref.shift());
          } else {
            const i = ref.lastIndexOf(o.value);
            if (i >= 0) ref.splice(i, 1);
            assert.equal(q.remove(o.value), i >= 0);
          }
          assert.equal(q.length, ref.length);
        }
        const rest: number[] = [];
        while (q.length > 0) rest.push(q.shift());
        assert.deepEqual(rest, ref);
      }),
      { numRuns: 500 },
    );
  });
});
