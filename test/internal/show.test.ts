import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { show } from '../../src/internal/show.ts';

describe('show', () => {
  it('quotes strings so "3" and 3 read differently', () => {
    assert.equal(show('3'), '"3"');
    assert.equal(show(''), '""');
    assert.equal(show('a"b'), '"a\\"b"');
  });

  it('prints numbers, booleans, null, undefined and symbols as String does', () => {
    assert.equal(show(3), '3');
    assert.equal(show(-1.5), '-1.5');
    assert.equal(show(Number.NaN), 'NaN');
    assert.equal(show(Number.POSITIVE_INFINITY), 'Infinity');
    assert.equal(show(true), 'true');
    assert.equal(show(null), 'null');
    assert.equal(show(undefined), 'undefined');
    assert.equal(show(Symbol('s')), 'Symbol(s)');
  });

  it('marks bigints with n so they do not read as numbers', () => {
    assert.equal(show(5n), '5n');
  });

  it('names functions, or calls them anonymous', () => {
    function named() {}
    assert.equal(show(named), 'function named');
    assert.equal(show(class Foo {}), 'function Foo');
    const fns = [() => {}];
    assert.equal(show(fns[0]), 'function (anonymous)');
  });

  it('prints arrays and objects by kind, not by content', () => {
    class Point {}
    assert.equal(show([1, 2]), 'an array');
    assert.equal(show({ a: 1 }), 'an object (Object)');
    assert.equal(show(new Map()), 'an object (Map)');
    assert.equal(show(new Point()), 'an object (Point)');
    assert.equal(show(new AbortController()), 'an object (AbortController)');
  });

  it('falls back on the toStringTag when the constructor gives no name', () => {
    assert.equal(show(Object.create(null)), 'an object (Object)');
    assert.equal(show({ constructor: 5 }), 'an object (Object)');
    assert.equal(
      show({ [Symbol.toStringTag]: 'Tagged', constructor: undefined }),
      'an object (Tagged)',
    );
  });
});
