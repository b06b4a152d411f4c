/**
 * Keeps the errors that followed a call's first one, so none is lost: they
 * go into `first.suppressed` (an array, appended to if one is there). A
 * primitive or frozen first error cannot carry them; they are dropped then,
 * as there is nowhere to put them without changing what the caller gets.
 */
export function attachSuppressed(first: unknown, later: unknown[]): void {
  if (typeof first !== 'object' || first === null || !Object.isExtensible(first)) return;
  const others = later.filter((e) => e !== first);
  if (others.length === 0) return;
  const existing = (first as { suppressed?: unknown }).suppressed;
  if (Array.isArray(existing)) {
    existing.push(...others);
    return;
  }
  if (existing !== undefined) return; // e.g. a SuppressedError's own field: leave it be
  Object.defineProperty(first, 'suppressed', {
    value: others,
    writable: true,
    configurable: true,
    enumerable: true,
  });
}

/**
 * Throws the first of `errors` with the others in its `suppressed` array;
 * returns when there is none.
 */
export function throwFirst(errors: unknown[]): void {
  if (errors.length === 0) return;
  attachSuppressed(errors[0], errors.slice(1));
  throw errors[0];
}
