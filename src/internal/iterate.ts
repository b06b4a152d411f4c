// Opens an `Iterable | AsyncIterable` the way `for await` does, written
// once for fanOut, pipeline sources, flatMap's inner iterables and through
// stages: the async iterator when there is one, else the sync one. A plain
// array (its own iterator not replaced) is kept as it is, for index access.

/** An opened source: a plain array, a sync iterator or an async one. */
export type Opened<T> =
  | { kind: 'array'; array: readonly T[] }
  | { kind: 'sync'; iterator: Iterator<T> }
  | { kind: 'async'; iterator: AsyncIterator<T> };

/**
 * Opens `source` as `for await` would: `[Symbol.asyncIterator]()` when it
 * has one, else `[Symbol.iterator]()`. With `arrays`, a plain array comes
 * back as it is. Throws what the iterator method throws, and a TypeError
 * when `source` has neither.
 */
export function openIterable<T>(source: Iterable<T> | AsyncIterable<T>): Opened<T>;
export function openIterable<T>(
  source: Iterable<T> | AsyncIterable<T>,
  arrays: false,
): Exclude<Opened<T>, { kind: 'array' }>;
export function openIterable<T>(source: Iterable<T> | AsyncIterable<T>, arrays = true): Opened<T> {
  if (
    arrays &&
    Array.isArray(source) &&
    source[Symbol.iterator] === Array.prototype[Symbol.iterator]
  ) {
    return { kind: 'array', array: source };
  }
  const async = (source as Partial<AsyncIterable<T>>)[Symbol.asyncIterator];
  if (typeof async === 'function') return { kind: 'async', iterator: async.call(source) };
  const sync = (source as Partial<Iterable<T>>)[Symbol.iterator];
  if (typeof sync === 'function') return { kind: 'sync', iterator: sync.call(source) };
  throw new TypeError('not an Iterable or AsyncIterable');
}
