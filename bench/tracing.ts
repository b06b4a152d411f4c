// What tracing costs fanOut: N synchronous tasks at concurrency 256 with the
// tracing hooks switched off (as before tracing existed: the hook returns at
// once), with the API but no SDK registered (the common case: must stay
// within 10% of off), and with a real SDK whose exporter drops every span,
// with metrics, and with both. Then the same off/no-SDK pair for many small
// calls (10 tasks each), where the one lookup per call shows.
//
//   node --import tsx bench/tracing.ts                # the whole table
//   node --import tsx bench/tracing.ts no-sdk         # one case, one call of N tasks
//   node --import tsx bench/tracing.ts no-sdk small   # one case, N/10 calls of 10 tasks

import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { fanOut } from '../src/index.ts';
import { switchTracing } from '../src/tracing/internal/scope.ts';
import { caseArg, fmt, isolated, peakRssMb, report, table, time } from './lib.ts';

const N = Number(process.env.BENCH_N ?? 1e6);
// A span costs microseconds: fewer tasks keep the SDK cases short.
const N_SDK = Number(process.env.BENCH_N_SDK ?? 2e5);
const C = 256;
const RUNS = 7;
const SMALL = 10;
// off and no-sdk differ by less than this machine's noise: each is run in
// this many fresh processes, alternating, and the median kept.
const REPEATS = 3;

class DropExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

class IdleReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

function registerTraces(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new DropExporter())] }),
  );
}

function registerMetrics(): void {
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new IdleReader()] }));
}

const cases: Record<string, { n: number; setup: () => void; about: string }> = {
  off: { n: N, setup: () => switchTracing(false), about: 'hooks switched off' },
  'no-sdk': { n: N, setup: () => {}, about: 'API, no SDK registered' },
  sdk: { n: N_SDK, setup: registerTraces, about: 'SDK, spans dropped' },
  metrics: { n: N_SDK, setup: registerMetrics, about: 'MeterProvider only' },
  'sdk+metrics': {
    n: N_SDK,
    setup: () => {
      registerTraces();
      registerMetrics();
    },
    about: 'SDK and MeterProvider',
  },
};

const task = (x: number) => x + 1;

/** One call of `n` tasks, or (small) n / SMALL calls of SMALL tasks each. */
async function once(items: number[], small: boolean): Promise<void> {
  if (!small) {
    const out = await fanOut(items, task, { concurrency: C });
    if (out[items.length - 1] !== items.length) throw new Error('wrong results');
    return;
  }
  const batch = items.slice(0, SMALL);
  for (let i = 0; i < items.length; i += SMALL) {
    const out = await fanOut(batch, task, { concurrency: C });
    if (out[SMALL - 1] !== SMALL) throw new Error('wrong results');
  }
}

async function run(name: string, small: boolean): Promise<void> {
  const c = cases[name]!;
  c.setup();
  const items = Array.from({ length: c.n }, (_, i) => i);
  await once(items.slice(0, 20_000), small);
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const before = process.cpuUsage();
    wall.push(await time(() => once(items, small)));
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) * 1000);
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[RUNS >> 1]! / c.n;
  report({ nsPerTask: median(wall), cpuNsPerTask: median(cpu), n: c.n, peakRssMb: peakRssMb() });
}

// Comparisons use CPU time: on a machine shared with other work it moves
// far less than wall time does.
type Result = { nsPerTask: number; cpuNsPerTask: number; n: number; peakRssMb: number };

/** Runs off and no-sdk alternately in fresh processes; the median run of each. */
function pair(script: string, shape: string[]): [Result, Result] {
  const runs: [Result[], Result[]] = [[], []];
  for (let i = 0; i < REPEATS; i++) {
    runs[0].push(isolated<Result>(script, ['off', ...shape]));
    runs[1].push(isolated<Result>(script, ['no-sdk', ...shape]));
  }
  const median = (rs: Result[]) =>
    rs.sort((a, b) => a.cpuNsPerTask - b.cpuNsPerTask)[rs.length >> 1]!;
  return [median(runs[0]), median(runs[1])];
}

async function main(): Promise<void> {
  const name = caseArg();
  if (name !== undefined) return run(name, process.argv[3] === 'small');
  const script = new URL(import.meta.url).pathname;
  console.log(
    `fanOut of sync tasks at concurrency ${C}; ns per task, wall and CPU: median of ${RUNS} runs ` +
      `in a process; off and no-sdk: the median of ${REPEATS} processes each\n`,
  );
  const rows: (string | number)[][] = [];
  const row = (label: string, calls: string, r: Result, base: Result) =>
    rows.push([
      label,
      calls,
      fmt(r.nsPerTask, 1),
      fmt(r.cpuNsPerTask, 1),
      fmt(r.cpuNsPerTask / base.cpuNsPerTask, 2),
      fmt(r.cpuNsPerTask - base.cpuNsPerTask, 1),
      fmt(r.peakRssMb),
    ]);
  const [off, noSdk] = pair(script, []);
  row(`off (${cases.off!.about})`, `1 × ${N}`, off, off);
  row(`no-sdk (${cases['no-sdk']!.about})`, `1 × ${N}`, noSdk, off);
  for (const key of ['sdk', 'metrics', 'sdk+metrics']) {
    const c = cases[key]!;
    row(`${key} (${c.about})`, `1 × ${c.n}`, isolated<Result>(script, [key]), off);
  }
  const [offSmall, noSdkSmall] = pair(script, ['small']);
  row('off, small calls', `${N / SMALL} × ${SMALL}`, offSmall, offSmall);
  row('no-sdk, small calls', `${N / SMALL} × ${SMALL}`, noSdkSmall, offSmall);
  const headers = ['case', 'calls × tasks', 'wall ns/task', 'CPU ns/task', 'CPU ratio to off'];
  console.log(table([...headers, 'extra CPU ns/task', 'peak RSS MB'], rows));
}

await main();
