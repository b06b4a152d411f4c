// Runs a whole input through fanOut in segments. fanOut keeps a slot per
// task for the array it resolves with; the command writes every result
// itself and needs none of them, so one call per segment bounds that array
// by the segment, not by the input, while the input iterator is shared and
// pulled lazily as before. Between segments the running tasks drain once per
// SEGMENT tasks, a cost lost in the noise.

import { type FanOutOptions, fanOut } from '../../fan-out.ts';
import type { TaskContext } from '../../task.ts';

const SEGMENT = 1 << 16;

/**
 * Runs `fn(item, index, ctx)` for every item of `source`, where `index`
 * counts over the whole input; resolves when all have run, rejects as
 * fanOut does. Closes `source` when it stops early.
 */
export async function drive<T>(
  source: Iterable<T> | AsyncIterator<T>,
  fn: (item: T, index: number, ctx: TaskContext) => Promise<void>,
  options: FanOutOptions,
): Promise<void> {
  if (Symbol.iterator in source) {
    const items = source as Iterable<T>;
    // An array fits in memory already: one call.
    await fanOut(items, (item, ctx) => fn(item, ctx.index, ctx), options);
    return;
  }
  const iterator = source as AsyncIterator<T>;
  const segment = new Segment(iterator);
  let base = 0;
  const run = (item: T, ctx: TaskContext) => fn(item, base + ctx.index, ctx);
  try {
    while (!segment.exhausted) {
      segment.left = SEGMENT;
      await fanOut(segment, run, options);
      base += SEGMENT;
    }
  } finally {
    if (!segment.exhausted) await iterator.return?.();
  }
}

/** At most `left` more items of the shared iterator; returning does not close it. */
class Segment<T> implements AsyncIterable<T>, AsyncIterator<T> {
  left = 0;
  exhausted = false;

  constructor(private readonly iterator: AsyncIterator<T>) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    if (this.left <= 0) return { value: undefined, done: true };
    this.left--;
    const r = await this.iterator.next();
    if (r.done) this.exhausted = true;
    return r;
  }
}
