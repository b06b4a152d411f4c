import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, fanout, MAIN, TASKS } from '../fixtures/cli-spawn.ts';

// Against the Redis at 127.0.0.1:6379 that .ci/run starts; keys under a prefix of our own.
const REDIS = 'redis://127.0.0.1:6379';
const PREFIX = `fanout-cli-test-${process.pid}`;
let queues = 0;

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fanout-worker-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
  // Remove every key this file made.
  const keys = spawnSync('redis-cli', ['--scan', '--pattern', `${PREFIX}*`], { encoding: 'utf8' });
  const list = keys.stdout.split('\n').filter((k) => k !== '');
  for (let i = 0; i < list.length; i += 500) {
    spawnSync('redis-cli', ['del', ...list.slice(i, i + 500)]);
  }
});

interface Worker {
  child: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts `fanout worker` on a fresh queue and waits until it serves. */
async function startWorker(queue: string, extra: string[] = []): Promise<Worker> {
  const child = spawn(
    process.execPath,
    [MAIN, 'worker', TASKS, '--redis', REDIS, '--queue', queue, '--prefix', PREFIX, ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.ok(
    await eventually(() => stderr.includes('serving') || child.exitCode !== null, 20_000),
    'worker did not start',
  );
  assert.match(stderr, /serving .*double/);
  return { child, stderr: () => stderr, exit };
}

const redisArgs = (queue: string) => ['--redis', REDIS, '--queue', queue, '--prefix', PREFIX];

describe('worker', () => {
  it('serves run --redis: results in input order, failures as error lines', async () => {
    const queue = `q${queues++}`;
    const w = await startWorker(queue, ['-c', '4']);
    try {
      const input = [3, 1, 2].map((x) => JSON.stringify({ x, delay: x * 50 })).join('\n');
      const r = await fanout(['run', `${TASKS}#double`, ...redisArgs(queue)], { input });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '6\n2\n4\n');
      const f = await fanout(['run', '--keep-going', `${TASKS}#failOdd`, ...redisArgs(queue)], {
        input: '{"x":1}\n{"x":2}\n',
      });
      assert.equal(f.code, 1, f.stderr);
      const lines = f.stdout.trim().split('\n');
      assert.deepEqual(JSON.parse(lines[0]!).error.message, 'odd: 1');
      assert.equal(lines[1], '2');
    } finally {
      w.child.kill('SIGTERM');
      assert.equal(await w.exit, 0);
    }
  });

  it('finishes its active job on SIGTERM and exits 0', async () => {
    const queue = `q${queues++}`;
    const w = await startWorker(queue);
    const file = join(dir, 'started');
    const caller = fanout(['run', `${TASKS}#mark`, ...redisArgs(queue)], {
      input: `${JSON.stringify({ x: 21, delay: 1500, file })}\n`,
    });
    // Once the job runs on the worker, ask the worker to stop.
    assert.ok(await eventually(() => existsSync(file), 30_000), 'the job never started');
    w.child.kill('SIGTERM');
    assert.equal(await w.exit, 0);
    assert.match(w.stderr(), /SIGTERM: taking no more jobs/);
    const r = await caller;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '42\n');
  });

  it('hands an active job back to the queue when --grace runs out', async () => {
    const queue = `q${queues++}`;
    const first = await startWorker(queue, ['--grace', '200ms']);
    const file = join(dir, 'patient');
    const caller = fanout(['run', `${TASKS}#patient`, ...redisArgs(queue)], {
      input: `${JSON.stringify({ x: 21, delay: 1500, file })}\n`,
    });
    assert.ok(await eventually(() => existsSync(file), 30_000), 'the job never started');
    rmSync(file);
    first.child.kill('SIGTERM');
    assert.equal(await first.exit, 0);
    // Another worker takes the job that came back, and the caller gets its one result.
    const second = await startWorker(queue);
    try {
      const r = await caller;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '42\n');
      assert.ok(existsSync(file), 'the second worker did not run the job');
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exit, 0);
    }
  });

  it('exits at once, with the code of the second signal, when signalled again while finishing', async () => {
    const queue = `q${queues++}`;
    const w = await startWorker(queue);
    const file = join(dir, 'interrupted');
    // A caller of our own to kill at the end: its job dies with the worker.
    const caller = spawn(process.execPath, [MAIN, 'run', `${TASKS}#mark`, ...redisArgs(queue)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    caller.stdin!.end(`${JSON.stringify({ x: 21, delay: 30_000, file })}\n`);
    try {
      assert.ok(await eventually(() => existsSync(file), 30_000), 'the job never started');
      w.child.kill('SIGTERM');
      assert.ok(
        await eventually(() => w.stderr().includes('taking no more jobs'), 10_000),
        w.stderr(),
      );
      const t0 = performance.now();
      w.child.kill('SIGINT');
      assert.equal(await w.exit, 130);
      assert.ok(performance.now() - t0 < 5_000, 'the worker waited for its job');
      assert.doesNotMatch(w.stderr(), /stopped/);
    } finally {
      caller.kill('SIGKILL');
      w.child.kill('SIGKILL');
    }
  });

  it('says what is wrong with its module or its Redis', async () => {
    const missing = await fanout(['worker', './no-such-tasks.js', ...redisArgs('x')]);
    assert.equal(missing.code, 255);
    assert.match(missing.stderr, /cannot find the task module/);
    const down = await fanout(['worker', TASKS, '--redis', 'redis://127.0.0.1:1', '--queue', 'x']);
    assert.equal(down.code, 255);
    assert.match(down.stderr, /cannot reach Redis at 127\.0\.0\.1:1/);
    const noQueue = await fanout(['worker', TASKS, '--redis', REDIS]);
    assert.equal(noQueue.code, 255);
    assert.match(noQueue.stderr, /required option '--queue <name>'/);
  });
});
