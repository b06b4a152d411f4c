import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fanout, MAIN, TASKS } from '../fixtures/cli-spawn.ts';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'fanout-run-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const jsonl = (values: unknown[]) => values.map((v) => `${JSON.stringify(v)}\n`).join('');
const parse = (out: string) =>
  out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));

describe('run', () => {
  it('writes one result per line in input order', async () => {
    const input = jsonl([
      { x: 1, delay: 300 },
      { x: 2, delay: 0 },
      { x: 3, delay: 150 },
      { x: 4, delay: 0 },
    ]);
    const r = await fanout(['run', `${TASKS}#double`], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout), [2, 4, 6, 8]);
  });

  it('writes results as they finish with --unordered', async () => {
    const input = jsonl([
      { x: 1, delay: 600 },
      { x: 2, delay: 0 },
      { x: 3, delay: 300 },
    ]);
    const r = await fanout(['run', '--unordered', `${TASKS}#double`], { input });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout), [4, 6, 2]);
  });

  it('gives the task its input, its index over the whole input, and the attempt', async () => {
    // More lines than one fanOut segment (65536), so indices must carry across segments.
    const n = 70_000;
    const r = await fanout(['run', `${TASKS}#echo`, '-j', '8'], { input: '7\n'.repeat(n) });
    assert.equal(r.code, 0, r.stderr);
    const out = parse(r.stdout);
    assert.equal(out.length, n);
    for (let i = 0; i < n; i += 997) assert.deepEqual(out[i], { input: 7, index: i, attempt: 1 });
    assert.deepEqual(out[n - 1], { input: 7, index: n - 1, attempt: 1 });
  });

  it('reads tasks from --input and skips blank lines', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(file, '{"x":5}\r\n\n  \n{"x":6}');
    const r = await fanout(['run', `${TASKS}#double`, '--input', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout), [10, 12]);
  });

  it('stops at the first failure, keeping the results before it valid', async () => {
    const input = jsonl([{ x: 2 }, { x: 4 }, { x: 5 }, { x: 6 }]);
    const r = await fanout(['run', '-j', '1', `${TASKS}#failOdd`], { input });
    assert.equal(r.code, 1);
    assert.deepEqual(parse(r.stdout), [2, 4]);
    assert.match(r.stderr, /task 2 failed: RangeError: odd: 5/);
    assert.match(r.stderr, /--keep-going/);
  });

  it('writes error lines and exits with the failure count with --keep-going', async () => {
    const input = jsonl([{ x: 1 }, { x: 2 }, { x: 3 }]);
    const r = await fanout(['run', '--keep-going', `${TASKS}#failOdd`], { input });
    assert.equal(r.code, 2);
    assert.deepEqual(parse(r.stdout), [
      { index: 0, error: { name: 'RangeError', message: 'odd: 1', code: 'E_ODD' } },
      2,
      { index: 2, error: { name: 'RangeError', message: 'odd: 3', code: 'E_ODD' } },
    ]);
  });

  it('names the line of malformed JSON and keeps what was written', async () => {
    const input = '{"x":1}\n\n{"x":\n{"x":3}\n';
    const r = await fanout(['run', '-j', '1', `${TASKS}#double`], { input });
    assert.equal(r.code, 1);
    assert.deepEqual(parse(r.stdout), [2]);
    assert.match(r.stderr, /input line 3 is not JSON/);
    const going = await fanout(['run', '--keep-going', `${TASKS}#double`], { input });
    assert.equal(going.code, 1);
    const out = parse(going.stdout);
    assert.equal(out[0], 2);
    assert.equal(out[1].index, 1);
    assert.match(out[1].error.message, /input line 3 is not JSON/);
    assert.equal(out[2], 6);
  });

  it('retries with --retries and limits attempts with --timeout', async () => {
    const r = await fanout(['run', '--retries', '1', `${TASKS}#flaky`], { input: '1\n2\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout), [2, 2]);
    const t = await fanout(['run', '--timeout', '100ms', '--keep-going', `${TASKS}#hang`], {
      input: '1\n',
    });
    assert.equal(t.code, 1);
    assert.equal(parse(t.stdout)[0].error.code, 'ERR_FANOUT_TIMEOUT');
  });

  it('streams: the first result is written before the input ends', async () => {
    const child = spawn(process.execPath, [MAIN, 'run', `${TASKS}#double`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin.write('{"x":21}\n');
    const first = await new Promise<string>((resolve) =>
      child.stdout.once('data', (b: Buffer) => resolve(b.toString())),
    );
    assert.equal(first, '42\n');
    child.stdin.end('{"x":1}\n');
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
  });

  it('writes the spans of the run with --trace', async () => {
    const file = join(dir, 'trace.jsonl');
    const r = await fanout(['run', '--trace', file, `${TASKS}#double`], { input: '{"x":1}\n' });
    assert.equal(r.code, 0, r.stderr);
    const spans = parse(readFileSync(file, 'utf8'));
    const root = spans.find((s) => s.name === 'fanout run');
    assert.ok(root, 'no root span');
    assert.match(root.traceId, /^[0-9a-f]{32}$/);
    for (const s of spans) assert.equal(s.traceId, root.traceId);
    assert.ok(spans.length > 1, "fanout's own spans were not recorded");
  });

  it('sends the spans to the collector the OTEL_* variables name', async () => {
    const requests: { url: string; headers: Record<string, unknown>; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (s: string) => (body += s));
      req.on('end', () => {
        requests.push({ url: req.url ?? '', headers: req.headers, body });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const r = await fanout(['run', `${TASKS}#double`], {
        input: '{"x":1}\n',
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}/`,
          OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s%20ecret',
          OTEL_SERVICE_NAME: 'cli-test',
        },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(requests.length >= 1, 'nothing reached the collector');
      assert.equal(requests[0]!.url, '/v1/traces');
      assert.equal(requests[0]!.headers['x-api-key'], 's ecret');
      const batches = requests.map((q) => JSON.parse(q.body).resourceSpans[0]);
      const service = batches[0].resource.attributes.find(
        (a: { key: string }) => a.key === 'service.name',
      );
      assert.deepEqual(service.value, { stringValue: 'cli-test' });
      const spans = batches.flatMap((b) =>
        b.scopeSpans.flatMap((s: { spans: unknown[] }) => s.spans),
      );
      const root = spans.find((s: { name: string }) => s.name === 'fanout run');
      assert.ok(root, 'no root span');
      assert.match(root.traceId, /^[0-9a-f]{32}$/);
      assert.equal(root.kind, 1);
      assert.match(root.startTimeUnixNano, /^\d{19}$/);
    } finally {
      server.close();
    }
  });

  it('explains a missing module, a missing export and a bad spec', async () => {
    const missing = await fanout(['run', join(dir, 'nope.mjs#x')], { input: '1\n' });
    assert.equal(missing.code, 255);
    assert.match(missing.stderr, /cannot find the task module .*nope\.mjs/);
    const noExport = await fanout(['run', `${TASKS}#nope`], { input: '1\n' });
    assert.equal(noExport.code, 255);
    assert.match(noExport.stderr, /has no export named "nope"/);
    assert.match(noExport.stderr, /its functions are: .*double/);
    const notFn = await fanout(['run', `${TASKS}#notAFunction`], { input: '1\n' });
    assert.match(notFn.stderr, /"notAFunction" is a number, not a function/);
    const bad = await fanout(['run', `${TASKS}#`], { input: '1\n' });
    assert.equal(bad.code, 255);
    assert.match(bad.stderr, /does not name a task/);
  });

  it('explains a missing input file, an unknown flag and --redis without --queue', async () => {
    const input = await fanout(['run', `${TASKS}#double`, '--input', join(dir, 'none.jsonl')]);
    assert.equal(input.code, 255);
    assert.match(input.stderr, /cannot read --input/);
    const flag = await fanout(['run', '--fast', `${TASKS}#double`]);
    assert.equal(flag.code, 255);
    assert.match(flag.stderr, /unknown option '--fast'/);
    const redis = await fanout(['run', `${TASKS}#double`, '--redis', 'redis://127.0.0.1:6379']);
    assert.equal(redis.code, 255);
    assert.match(redis.stderr, /--redis and --queue go together/);
  });

  it('says when Redis cannot be reached', async () => {
    const r = await fanout(
      ['run', `${TASKS}#double`, '--redis', 'redis://127.0.0.1:1', '--queue', 'q'],
      { input: '1\n' },
    );
    assert.equal(r.code, 255);
    // Without fanout/bullmq in this build the flag says it is not available instead.
    assert.match(r.stderr, /cannot reach Redis at 127\.0\.0\.1:1|--redis is not available/);
  });

  it('runs on worker threads with --threads', async () => {
    const input = jsonl([{ x: 1, delay: 100 }, { x: 2 }, { x: 3 }]);
    const r = await fanout(['run', '--threads', '2', `${TASKS}#double`], { input });
    if (!existsSync(new URL('../../dist/threads/index.js', import.meta.url))) {
      assert.equal(r.code, 255);
      assert.match(r.stderr, /--threads is not available/);
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout), [2, 4, 6]);
  });
});
