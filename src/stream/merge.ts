import { checkIterable } from '../internal/validate.ts';
import { MergeNode } from './internal/merge.ts';
import { SourceNode } from './internal/source.ts';
import { Pipeline, type PipelineSource } from './pipeline.ts';

/**
 * merge fans several streams into one {@link Pipeline}: items leave as they
 * arrive from any source, each source's items in their own order.
 *
 * Each source is read by its own loop that waits until its item was taken
 * before reading the next, so at most one item per source is held. The
 * merged stream ends when every source ended. When its consumer stops early,
 * or a source throws, every source is closed (their `return()` and `finally`
 * run) before the consumer resumes; a source's error reaches the consumer as
 * is. No error raised while closing the sources is lost: they go into that
 * error's `suppressed` array, or, after an early exit, the first of them is
 * thrown with the others in its own. For cancellation, wrap it:
 * `pipeline(merge(a, b), { signal })`, or chain stages on it and consume it
 * with a signal-bearing source upstream.
 *
 * @throws TypeError when a source is not an Iterable or AsyncIterable, at once.
 * @example
 * ```ts
 * for await (const event of merge(clicks, keys, timers)) handle(event)
 * ```
 */
export function merge<T>(...sources: PipelineSource<T>[]): Pipeline<T> {
  sources.forEach((source, i) => {
    checkIterable('merge', `sources[${i}]`, source);
  });
  return new Pipeline(
    (scope) =>
      new MergeNode(
        scope,
        sources.map((source) => new SourceNode(scope, source)),
      ),
    undefined,
  );
}
