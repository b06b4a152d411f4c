import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { fanOut, fanOutSettled, Group } from '../../src/index.ts';
import { points, register, total } from '../fixtures/tracing-sdk.ts';

// Metrics only: they must not depend on a tracer provider.
register({ traces: false });

const wait = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });

/** Counts of a histogram's points whose attributes include `match`. */
async function histogramCount(name: string, match: Record<string, unknown>): Promise<number> {
  let count = 0;
  for (const p of await points(name)) {
    if (Object.entries(match).every(([k, v]) => p.attributes[k] === v)) {
      count += (p.value as HistogramMetricData['dataPoints'][number]['value']).count;
    }
  }
  return count;
}

describe('task metrics', () => {
  it('counts attempts started, succeeded, failed and cancelled per task name', async () => {
    const name = { 'fanout.task.name': 'count-me' };
    const boom = new Error('boom');
    await assert.rejects(
      fanOut(
        [0, 1, 2, 3],
        async (n, { signal }) => {
          if (n === 0) {
            await sleep(20);
            throw boom;
          }
          if (n === 1) return n;
          await wait(60_000, signal);
        },
        { name: 'count-me' },
      ),
      boom,
    );
    assert.equal(await total('fanout.task.started', name), 4);
    assert.equal(await total('fanout.task.succeeded', name), 1);
    assert.equal(await total('fanout.task.failed', name), 1);
    assert.equal(await total('fanout.task.cancelled', name), 2);
    assert.equal(await total('fanout.task.active', name), 0);
    assert.equal(await total('fanout.task.started', { ...name, 'fanout.api': 'fanOut' }), 4);
  });

  it('records the duration of every attempt and the slot wait of every task', async () => {
    const name = { 'fanout.task.name': 'timed' };
    await fanOut([1, 2, 3], (n) => sleep(n), { name: 'timed', concurrency: 1 });
    assert.equal(await histogramCount('fanout.task.duration', name), 3);
    assert.equal(await histogramCount('fanout.task.slot_wait', name), 3);
    // In seconds, as the conventions want: three sleeps of 1 to 3 ms, each of
    // which may end up to 1 ms early (timers count in whole milliseconds).
    const timed = (await points('fanout.task.duration')).find(
      (p) => p.attributes['fanout.task.name'] === 'timed',
    )!;
    const sum = (timed.value as { sum: number }).sum;
    assert.ok(sum >= 0.003 && sum < 5, `sum ${sum}`);
  });

  it('marks retries with fanout.task.retry and gives them no slot wait', async () => {
    const name = { 'fanout.task.name': 'flaky' };
    await fanOutSettled(
      ['a'],
      (_, { attempt }) => {
        if (attempt < 3) throw new Error('again');
        return attempt;
      },
      { name: 'flaky', retry: { attempts: 3, backoff: 0 } },
    );
    assert.equal(await total('fanout.task.started', name), 3);
    assert.equal(await total('fanout.task.started', { ...name, 'fanout.task.retry': true }), 2);
    assert.equal(await total('fanout.task.failed', name), 2);
    assert.equal(await total('fanout.task.succeeded', name), 1);
    assert.equal(await histogramCount('fanout.task.slot_wait', name), 1);
  });

  it('counts the functions of a Group', async () => {
    const group = { 'fanout.api': 'Group' };
    const g = new Group({ limit: 2 });
    await g.go(() => sleep(5));
    await g.go(() => 1);
    await g.wait();
    assert.equal(await total('fanout.task.started', group), 2);
    assert.equal(await total('fanout.task.succeeded', group), 2);
    assert.equal(await total('fanout.task.active', group), 0);
  });

  it('keeps the attributes low in cardinality: no index, no attempt number', async () => {
    await fanOut([1, 2, 3], (n) => n, { name: 'plain' });
    for (const p of await points('fanout.task.started')) {
      assert.deepEqual(
        Object.keys(p.attributes)
          .filter((k) => k !== 'fanout.task.retry')
          .sort(),
        ['fanout.api', 'fanout.task.name'],
      );
    }
  });
});
