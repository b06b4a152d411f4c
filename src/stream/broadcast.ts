import { checkIterable, checkObject, checkSignal } from '../internal/validate.ts';
import { checkCount } from './internal/check.ts';
import { BranchNode, Hub } from './internal/hub.ts';
import { Pipeline, type PipelineSource } from './pipeline.ts';

/** Options of {@link broadcast}. */
export interface BroadcastOptions {
  /**
   * How many items the fastest consumer may be ahead of the slowest
   * (default 16): the items read from the source and not yet read by every
   * consumer. An integer >= 1.
   */
  buffer?: number;
  /** Aborting it fails every consumer with `signal.reason` and closes the source. */
  signal?: AbortSignal;
}

/**
 * broadcast reads `source` once and returns `n` pipelines that each see
 * every item, in order.
 *
 * It is bounded: at most `buffer` items are held, and once the fastest
 * consumer is that far ahead of the slowest it waits. So every one of the
 * `n` pipelines must be consumed (concurrently, e.g. with `Promise.all`),
 * or the others block once the buffer fills. A consumer that stops early
 * (break, error, its own signal) leaves without holding the others up; the
 * source is closed (its `return()` and `finally` run) when the last one
 * leaves, and that consumer resumes only after it. An error of the source,
 * or `signal.reason`, reaches every consumer still reading, as the same
 * object, once the source is closed. What closing the source raised is not
 * lost: it is kept in that error's `suppressed` array, or, when the last
 * consumer left early, thrown by its exit.
 *
 * @throws TypeError / RangeError for a bad argument, at once.
 * @example
 * ```ts
 * const [toDisk, toIndex] = broadcast(records, 2, { buffer: 64 })
 * await Promise.all([toDisk.forEach(write), toIndex.batch(100).forEach(index)])
 * ```
 */
export function broadcast<T>(
  source: PipelineSource<T>,
  n: number,
  options?: BroadcastOptions,
): Pipeline<T>[] {
  checkIterable('broadcast', 'source', source);
  checkCount('broadcast', 'n', n);
  checkObject('broadcast', 'options', options);
  const buffer = options?.buffer ?? 16;
  checkCount('broadcast', 'options.buffer', buffer);
  checkSignal('broadcast', 'options.signal', options?.signal);
  const hub = new Hub(source, n, buffer, options?.signal);
  return Array.from(
    { length: n },
    (_, b) => new Pipeline((scope) => new BranchNode(scope, hub, b), undefined),
  );
}
