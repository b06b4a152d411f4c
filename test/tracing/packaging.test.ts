// @opentelemetry/api is an optional peer dependency: fanout must use the
// application's copy, whatever its 1.x version, and must work without one.
// Each case builds an application directory with its own node_modules (a
// built copy of fanout, and the API version under test with the SDK next to
// it) and runs test/fixtures/tracing-app.mjs there in a fresh Node process.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const modules = join(root, 'node_modules');
let tmp: string;
let built: string;

interface Report {
  api: string | null;
  results: { ok: number[]; failed: string; settled: string[]; group: string };
  spans: {
    name: string;
    id: string;
    traceId: string;
    parent?: string;
    events: string[];
    status: number;
  }[];
}

/** Compiles the core (src/index.ts and what it imports) into a package directory. */
function buildFanout(): string {
  const pkg = join(tmp, 'fanout');
  const config = join(tmp, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        rootDir: join(root, 'src'),
        outDir: join(pkg, 'dist'),
        noEmit: false,
        declaration: false,
        sourceMap: false,
        typeRoots: [join(modules, '@types')],
      },
      files: [join(root, 'src/index.ts')],
      include: [],
    }),
  );
  // Type errors are the typecheck's business; only the emitted code matters here.
  const r = spawnSync(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', config], {
    encoding: 'utf8',
  });
  assert.ok(existsSync(join(pkg, 'dist/index.js')), `build failed:\n${r.stdout}${r.stderr}`);
  writeFileSync(
    join(pkg, 'package.json'),
    JSON.stringify({
      name: 'fanout',
      version: '0.0.0-test',
      type: 'module',
      exports: { '.': './dist/index.js' },
    }),
  );
  return pkg;
}

/**
 * Lays out an application with `api` (a directory under node_modules, or
 * undefined for none) as its @opentelemetry/api, runs it and parses its report.
 */
function runApp(name: string, api: string | undefined): Report {
  const dir = join(tmp, name);
  const nm = join(dir, 'node_modules');
  mkdirSync(join(nm, '@opentelemetry'), { recursive: true });
  // Copies, not links: Node resolves a linked package's imports from its
  // real path, which would find the dev copy of the API in this repository.
  cpSync(built, join(nm, 'fanout'), { recursive: true });
  if (api !== undefined) {
    cpSync(join(modules, api), join(nm, '@opentelemetry/api'), { recursive: true });
    for (const sdk of ['sdk-trace-base', 'sdk-trace', 'core', 'resources', 'context-async-hooks']) {
      cpSync(join(modules, '@opentelemetry', sdk), join(nm, '@opentelemetry', sdk), {
        recursive: true,
      });
    }
    // It imports no API: a link is enough.
    symlinkSync(
      join(modules, '@opentelemetry/semantic-conventions'),
      join(nm, '@opentelemetry/semantic-conventions'),
    );
  }
  cpSync(join(root, 'test/fixtures/tracing-app.mjs'), join(dir, 'app.mjs'));
  const r = spawnSync(process.execPath, ['app.mjs'], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `app failed:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Report;
}

function assertResults(report: Report): void {
  assert.deepEqual(report.results, {
    ok: [2, 4, 6],
    failed: 'boom',
    settled: ['fulfilled', 'rejected'],
    group: 'waited',
  });
}

function assertSpans(report: Report): void {
  const named = (name: string) => report.spans.filter((s) => s.name === name);
  const [app] = named('app');
  assert.ok(app, 'the application span');
  const [call] = named('fanOut job');
  assert.ok(call, 'the call span reached the SDK');
  assert.equal(call.parent, app.id);
  const jobs = named('job');
  assert.equal(jobs.length, 3);
  for (const job of jobs) assert.equal(job.parent, call.id);
  // Spans the tasks start nest under them: the context crossed over.
  const inner = named('inner');
  assert.equal(inner.length, 3);
  assert.deepEqual(inner.map((s) => s.parent).sort(), jobs.map((s) => s.id).sort());
  const failing = report.spans.filter((s) => s.name === 'fanOut');
  assert.equal(failing.length, 1);
  assert.equal(failing[0]!.status, 2);
  const tasks = report.spans.filter((s) => s.name === 'fanout.task' && s.parent === failing[0]!.id);
  assert.deepEqual(tasks.map((t) => t.events.join(',')).sort(), ['exception', 'fanout.cancelled']);
  assert.equal(named('fanOutSettled').length, 1);
  assert.equal(named('Group').length, 1);
  assert.ok(
    report.spans.every((s) => s.traceId === app.traceId),
    'one trace',
  );
}

describe('tracing packaging', () => {
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'fanout-otel-'));
    built = buildFanout();
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('works with no @opentelemetry/api installed at all', () => {
    const report = runApp('no-api', undefined);
    assert.equal(report.api, null);
    assertResults(report);
    assert.deepEqual(report.spans, []);
  });

  it('sends spans to an SDK that the application registers through an older API (1.3)', () => {
    const report = runApp('api-1.3', 'otel-api-old');
    assert.equal(report.api, '1.3.0');
    assertResults(report);
    assertSpans(report);
  });

  it('sends spans to an SDK that the application registers through a newer API (1.10)', () => {
    const report = runApp('api-1.10', 'otel-api-new');
    assert.equal(report.api, '1.10.0');
    assertResults(report);
    assertSpans(report);
  });
});
