import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Queue } from '../../src/internal/queue.ts';

describe('Queue', () => {
  it('behaves like an array used as a queue over random push, shift, peek, remove and clear', () => {
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant('push' as const), value: fc.nat(50) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('shift' as const) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('peek' as const) }) },
      {
        weight: 1,
        arbitrary: fc.record({ op: fc.constant('remove' as const), value: fc.nat(50) }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('clear' as const) }) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new Queue<number>();
        let ref: number[] = [];
        for (const o of ops) {
          if (o.op === 'push') {
            q.push(o.value);
            ref.push(o.value);
          } else if (o.op === 'shift') {
            if (ref.length > 0) assert.equal(q.shift(), ref.shift());
          } else if (o.op === 'peek') {
            if (ref.length > 0) assert.equal(q.peek(), ref[0]);
          } else if (o.op === 'remove') {
            const i = ref.lastIndexOf(o.value);
            if (i >= 0) ref.splice(i, 1);
            assert.equal(q.remove(o.value), i >= 0);
          } else {
            q.clear();
            ref = [];
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

  it('keeps order across growth while the head is mid-buffer', () => {
    const q = new Queue<number>();
    let next = 0;
    let expected = 0;
    // Shift a few first so the head has wrapped before each growth.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3 + round * 5; i++) q.push(next++);
      for (let i = 0; i < 2; i++) assert.equal(q.shift(), expected++);
    }
    while (q.length > 0) assert.equal(q.shift(), expected++);
    assert.equal(expected, next);
  });

  it('removes the last occurrence of a repeated item and leaves the others in order', () => {
    const q = new Queue<string>();
    for (const s of ['a', 'b', 'a', 'c']) q.push(s);
    assert.equal(q.remove('a'), true);
    assert.equal(q.remove('z'), false);
    assert.deepEqual([q.shift(), q.shift(), q.shift()], ['a', 'b', 'c']);
  });
});
