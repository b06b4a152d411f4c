import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Cluster } from 'ioredis';
import { bullmqExecutor, serveTasks } from '../../src/bullmq/index.ts';
import { fanOut } from '../../src/index.ts';
import { until } from '../fixtures/bullmq-helpers.ts';

// A throwaway three-node Redis Cluster on ports of this test's own.
const base = 17_000 + (process.pid % 500) * 3;
const ports = [base, base + 1, base + 2];
const dir = mkdtempSync(join(tmpdir(), 'fanout-cluster-'));
const nodes: ChildProcess[] = [];
const connection = { nodes: ports.map((port) => ({ host: '127.0.0.1', port })) };
const prefix = `{test-bullmq-cluster-${process.pid}}`;

before(async () => {
  for (const port of ports) {
    const node = spawn(
      'redis-server',
      [
        ...['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        ...['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`],
      ],
      { cwd: dir, stdio: 'ignore' },
    );
    nodes.push(node);
  }
  await until(() => {
    try {
      for (const port of ports) execFileSync('redis-cli', ['-p', String(port), 'ping']);
      return true;
    } catch {
      return false;
    }
  });
  execFileSync(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { stdio: 'ignore' },
  );
  await until(() =>
    ports.every((p) =>
      execFileSync('redis-cli', ['-p', String(p), 'cluster', 'info'], {
        encoding: 'utf8',
      }).includes('cluster_state:ok'),
    ),
  );
});

after(() => {
  for (const node of nodes) node.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('fanout/bullmq on a Redis Cluster', () => {
  it('runs, cancels and cleans up with the keys of a queue in one hash slot', async () => {
    const server = await serveTasks({
      module: new URL('../fixtures/bullmq-tasks.ts', import.meta.url),
      connection,
      queue: 'q',
      prefix,
      concurrency: 10,
    });
    const cluster = bullmqExecutor({ connection, queue: 'q', prefix });
    try {
      const inputs = Array.from({ length: 300 }, (_, i) => i);
      assert.deepEqual(
        await fanOut(inputs, cluster.task<number, number>('double'), { concurrency: 100 }),
        inputs.map((i) => i * 2),
      );
      const controller = new AbortController();
      const call = fanOut([1, 2, 3], cluster.task('block'), { signal: controller.signal });
      setTimeout(() => controller.abort(), 200);
      await assert.rejects(call, { name: 'AbortError' });
    } finally {
      await cluster.close();
      await server.close();
    }
    const redis = new Cluster(connection.nodes);
    try {
      const jobs = async () => {
        const keys = (
          await Promise.all(redis.nodes('master').map((n) => n.keys(`${prefix}:*`)))
        ).flat();
        return keys.filter((k) => !/:(events|meta|id|stalled-check|marker)$/.test(k));
      };
      await until(async () => (await jobs()).length === 0);
    } finally {
      redis.disconnect();
    }
  });
});
