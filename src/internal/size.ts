/** The number of items of an input, when it says (an array's `length`, a Set's `size`). */
export function sizeOf(tasks: unknown): number | undefined {
  const t = tasks as { length?: unknown; size?: unknown };
  if (typeof t.length === 'number') return t.length;
  if (typeof t.size === 'number') return t.size;
  return undefined;
}
