// The printer behind every argument error: `${api}: ${arg} must be ...,
// got ${show(value)}`. It names the value's type and, where short, the value.

/**
 * show prints a value for an error message: strings quoted, bigints with
 * their `n`, functions by name, arrays as "an array" and other objects by
 * their constructor's name (their toStringTag when the constructor has none,
 * as for `Object.create(null)`). Other values print as `String` does.
 *
 * @example
 * ```ts
 * show('3') // '"3"'
 * show(new Map()) // 'an object (Map)'
 * ```
 */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `an object (${kind(value)})`;
}

function kind(value: object): string {
  // A class name says more than the tag, which is "Object" for every
  // instance of a class that does not set Symbol.toStringTag.
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  if (typeof name === 'string' && name !== '') return name;
  return Object.prototype.toString.call(value).slice(8, -1);
}
