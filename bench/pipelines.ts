// pipeline() against a hand-written async-generator chain (the floor) and
// its peers: N items through map x+1 → async map x*3 (concurrency 8) →
// filter even → sum, ordered and unordered.
//
//   node --import tsx bench/pipelines.ts                  # the whole table
//   node --import tsx bench/pipelines.ts pipeline ordered # one case

// Each case runs in its own process and loads only its own library, so that
// peak RSS is the runner's, not its neighbours'.
import { Readable, pipeline as streamPipeline, Transform } from 'node:stream';
import { caseArg, fmt, isolated, peakRssMb, report, table, time } from './lib.ts';

const N = Number(process.env.BENCH_N ?? 1e6);
const C = 8;
type Order = 'ordered' | 'unordered';

function* range(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}
const inc = (x: number) => x + 1;
const triple = async (x: number) => x * 3;
const even = (x: number) => x % 2 === 0;
const add = (a: number, x: number) => a + x;

/** The floor: the chain written by hand as async generators, a window of C promises for the concurrent stage. */
async function floor(n: number): Promise<number> {
  async function* map1(src: Iterable<number>) {
    for (const x of src) yield inc(x);
  }
  async function* map3(src: AsyncIterable<number>) {
    const window: Promise<number>[] = [];
    for await (const x of src) {
      window.push(triple(x));
      if (window.length >= C) yield await window.shift()!;
    }
    while (window.length > 0) yield await window.shift()!;
  }
  async function* keep(src: AsyncIterable<number>) {
    for await (const x of src) if (even(x)) yield x;
  }
  let sum = 0;
  for await (const x of keep(map3(map1(range(n))))) sum += x;
  return sum;
}

/** node:stream Transform objects; the concurrent stage keeps a window of C promises in order. */
function nodeStream(n: number): Promise<number> {
  const map1 = new Transform({
    objectMode: true,
    transform(x: number, _e, cb) {
      cb(null, inc(x));
    },
  });
  const window: Promise<number>[] = [];
  const map3 = new Transform({
    objectMode: true,
    transform(x: number, _e, cb) {
      window.push(triple(x));
      if (window.length < C) return cb();
      window.shift()!.then((v) => cb(null, v), cb);
    },
    async flush(cb) {
      while (window.length > 0) this.push(await window.shift()!);
      cb();
    },
  });
  const keep = new Transform({
    objectMode: true,
    transform(x: number, _e, cb) {
      cb(null, even(x) ? x : undefined);
    },
  });
  let sum = 0;
  const sink = new Transform({
    objectMode: true,
    transform(x: number, _e, cb) {
      sum += x;
      cb();
    },
  });
  return new Promise((resolve, reject) =>
    streamPipeline(Readable.from(range(n)), map1, map3, keep, sink, (err) =>
      err ? reject(err) : resolve(sum),
    ),
  );
}

const runners: Record<string, (n: number, order: Order) => Promise<number>> = {
  floor: (n) => floor(n),
  pipeline: async (n, order) =>
    (await import('../src/stream/pipeline.ts'))
      .pipeline(range(n))
      .map(inc)
      .map(triple, { concurrency: C, ordered: order === 'ordered' })
      .filter(even)
      .reduce(add, 0),
  'node:stream': (n) => nodeStream(n),
  'node:stream Readable.map': (n) =>
    Readable.from(range(n)).map(inc).map(triple, { concurrency: C }).filter(even).reduce(add, 0),
  'streaming-iterables': async (n, order) => {
    const si = await import('streaming-iterables');
    return si.reduce(
      add,
      0,
      si.filter(
        even,
        (order === 'ordered' ? si.parallelMap(C, triple) : si.transform(C, triple))(
          si.map(inc, range(n)),
        ),
      ),
    );
  },
  'Effect Stream': async (n, order) => {
    const { Effect, Stream } = await import('effect');
    return Effect.runPromise(
      Stream.fromIterable(range(n)).pipe(
        Stream.map(inc),
        Stream.mapEffect((x: number) => Effect.promise(() => triple(x)), {
          concurrency: C,
          unordered: order === 'unordered',
        }),
        Stream.filter(even),
        Stream.runFold(
          () => 0,
          (a: number, x: number) => a + x,
        ),
      ),
    );
  },
};

function expected(n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) if (((i + 1) * 3) % 2 === 0) sum += (i + 1) * 3;
  return sum;
}

async function one(name: string, order: Order): Promise<void> {
  const run = runners[name]!;
  await run(20_000, order); // warm-up, so every runner is measured optimised
  const base = peakRssMb();
  let sum = 0;
  const ns = await time(async () => {
    sum = await run(N, order);
  });
  if (sum !== expected(N)) throw new Error(`${name} summed ${sum}, expected ${expected(N)}`);
  report({ nsPerItem: ns / N, peakRssMb: peakRssMb(), baseRssMb: base });
}

async function main(): Promise<void> {
  const name = caseArg();
  if (name !== undefined) return one(name, (process.argv[3] ?? 'ordered') as Order);
  const script = new URL(import.meta.url).pathname;
  console.log(
    `N = ${N} items: map x+1 → async map x*3 (concurrency ${C}) → filter even → sum; ` +
      `best of ${process.env.BENCH_REPEAT ?? 3} runs: ns per item, ratio to the floor, peak RSS (MB). ` +
      'The floor keeps input order in both rows.\n',
  );
  // Each case runs REPEAT times in fresh processes, interleaved so that a
  // busy spell of the machine hits every runner alike; the fastest run counts.
  const repeat = Number(process.env.BENCH_REPEAT ?? 3);
  const rows: (string | number)[][] = [];
  for (const order of ['ordered', 'unordered'] as const) {
    const names = Object.keys(runners).filter(
      (name) => !(order === 'unordered' && name.startsWith('node:stream')), // no unordered mode
    );
    const best = new Map<string, { nsPerItem: number; peakRssMb: number }>();
    for (let i = 0; i < repeat; i++) {
      for (const name of names) {
        const r = isolated<{ nsPerItem: number; peakRssMb: number }>(script, [name, order]);
        const b = best.get(name);
        best.set(name, {
          nsPerItem: Math.min(b?.nsPerItem ?? Number.POSITIVE_INFINITY, r.nsPerItem),
          peakRssMb: Math.max(b?.peakRssMb ?? 0, r.peakRssMb),
        });
      }
    }
    const floorNs = best.get('floor')!.nsPerItem;
    for (const name of names) {
      const r = best.get(name)!;
      rows.push([
        order,
        name,
        fmt(r.nsPerItem / floorNs, 2),
        fmt(r.nsPerItem),
        fmt(r.peakRssMb, 1),
      ]);
    }
  }
  console.log(table(['order', 'runner', 'ratio', 'ns/item', 'peak RSS MB'], rows));
}

await main();
