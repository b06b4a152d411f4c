import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openIterable } from '../../src/internal/iterate.ts';

/** Yields `sync` through its sync iterator and `async` through its async one. */
function both(sync: number[], async: number[]): Iterable<number> & AsyncIterable<number> {
  return {
    [Symbol.iterator]: () => sync[Symbol.iterator](),
    [Symbol.asyncIterator]: async function* () {
      yield* async;
    },
  };
}

describe('openIterable', () => {
  it('opens the async iterator when there is one, as for await does', async () => {
    const opened = openIterable(both([1], [2]));
    assert.equal(opened.kind, 'async');
    const seen: number[] = [];
    for await (const x of both([1], [2])) seen.push(x);
    assert.deepEqual(seen, [2], 'for await agrees');
  });

  it('opens the sync iterator of a sync-only iterable', () => {
    const opened = openIterable(new Set([1, 2]));
    assert.equal(opened.kind, 'sync');
    if (opened.kind === 'sync') assert.deepEqual(opened.iterator.next(), { value: 1, done: false });
  });

  it('keeps a plain array as it is, unless told not to', () => {
    const array = [1, 2];
    assert.deepEqual(openIterable(array), { kind: 'array', array });
    assert.equal(openIterable(array, false).kind, 'sync');
  });

  it('opens an array whose iterator was replaced through that iterator', () => {
    const array = [1, 2];
    Object.defineProperty(array, Symbol.iterator, { value: () => [9][Symbol.iterator]() });
    const opened = openIterable(array);
    assert.equal(opened.kind, 'sync');
  });

  it('throws a TypeError for a value that is neither', () => {
    assert.throws(() => openIterable({} as Iterable<number>), TypeError);
  });
});
