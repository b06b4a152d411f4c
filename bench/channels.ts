// Channels against a minimal hand-written promise channel (the floor) and
// the usual peers: ping-pong round trips over two unbuffered channels, and
// one producer / one consumer at capacity 0, 1 and 64, N messages each.
//
//   node --import tsx bench/channels.ts                  # the whole table
//   node --import tsx bench/channels.ts fanout cap64     # one case
//   BENCH_N=100000 BENCH_RUNS=1 node --import tsx bench/channels.ts   # a quicker table

import type { SimpleChannel } from 'channel-ts';
import type { Channel } from '../src/channel/channel.ts';
import { caseArg, fmt, isolated, peakRssMb, report, table, time } from './lib.ts';

// Each case loads only the library it measures, so peak RSS is its own.
const subject = caseArg();
const Chan =
  subject === 'fanout' ? (await import('../src/channel/channel.ts')).Channel : undefined!;
const makeChan = subject === 'chan' ? (await import('chan')).default : undefined!;
// js-csp marks itself __esModule without a default export.
const csp = subject === 'js-csp' ? await import('js-csp').then((m) => m.default ?? m) : undefined!;
const SimpleChan =
  subject === 'channel-ts' ? (await import('channel-ts')).SimpleChannel : undefined!;

const N = Number(process.env.BENCH_N ?? 1e6);
const WARMUP = 20_000;
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

type Config = 'pingpong' | 'cap0' | 'cap1' | 'cap64';
const configs: Config[] = ['pingpong', 'cap0', 'cap1', 'cap64'];
const capacity: Record<Config, number> = { pingpong: 0, cap0: 0, cap1: 1, cap64: 64 };

/**
 * The floor: the least a promise channel must do. No close, no signal, no
 * select; arrays as queues; recv resolves the bare value.
 */
class FloorChannel<T> {
  readonly #cap: number;
  readonly #buf: T[] = [];
  readonly #recvq: ((value: T) => void)[] = [];
  readonly #sendq: { value: T; resolve: () => void }[] = [];
  constructor(cap: number) {
    this.#cap = cap;
  }
  send(value: T): Promise<void> {
    const r = this.#recvq.shift();
    if (r !== undefined) {
      r(value);
      return Promise.resolve();
    }
    if (this.#buf.length < this.#cap) {
      this.#buf.push(value);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#sendq.push({ value, resolve }));
  }
  recv(): Promise<T> {
    if (this.#buf.length > 0) {
      const value = this.#buf.shift() as T;
      const s = this.#sendq.shift();
      if (s !== undefined) {
        this.#buf.push(s.value);
        s.resolve();
      }
      return Promise.resolve(value);
    }
    const s = this.#sendq.shift();
    if (s !== undefined) {
      s.resolve();
      return Promise.resolve(s.value);
    }
    return new Promise((resolve) => this.#recvq.push(resolve));
  }
}

/** An implementation as the two loops see it: make a channel, send, receive. */
interface Impl {
  make(cap: number): unknown;
  send(ch: unknown, value: number): Promise<void>;
  recv(ch: unknown): Promise<number>;
}

const impls: Record<string, Impl> = {
  floor: {
    make: (cap) => new FloorChannel<number>(cap),
    send: (ch, v) => (ch as FloorChannel<number>).send(v),
    recv: (ch) => (ch as FloorChannel<number>).recv(),
  },
  chan: {
    make: (cap) => makeChan(cap),
    send: (ch, v) =>
      new Promise((resolve) => (ch as (v: number) => (cb: () => void) => void)(v)(resolve)),
    recv: (ch) =>
      new Promise((resolve) =>
        (ch as (cb: (err: unknown, v: number) => void) => void)((_err, v) => resolve(v)),
      ),
  },
  'channel-ts': {
    // Unbounded: send never waits, so only the ping-pong is comparable.
    make: () => new SimpleChan<number>(),
    send: async (ch, v) => (ch as SimpleChannel<number>).send(v),
    recv: (ch) => (ch as SimpleChannel<number>).receive(),
  },
};

// fanout's own loops, written as a user would: the consumer is a for await.
async function fanoutProducerConsumer(cap: number, n: number): Promise<number> {
  const ch: Channel<number> = new Chan<number>(cap);
  const producer = (async () => {
    for (let i = 0; i < n; i++) await ch.send(i);
    ch.close();
  })();
  let sum = 0;
  for await (const v of ch) sum += v;
  await producer;
  return sum;
}

async function fanoutPingPong(n: number): Promise<number> {
  const ping = new Chan<number>();
  const pong = new Chan<number>();
  const echo = (async () => {
    for (let i = 0; i < n; i++) await pong.send((await ping.recv()).value as number);
  })();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    await ping.send(i);
    sum += (await pong.recv()).value as number;
  }
  await echo;
  return sum;
}

async function pingPong(impl: Impl, n: number): Promise<number> {
  const ping = impl.make(0);
  const pong = impl.make(0);
  const echo = (async () => {
    for (let i = 0; i < n; i++) await impl.send(pong, await impl.recv(ping));
  })();
  let sum = 0;
  for (let i = 0; i < n; i++) {
    await impl.send(ping, i);
    sum += await impl.recv(pong);
  }
  await echo;
  return sum;
}

async function producerConsumer(impl: Impl, cap: number, n: number): Promise<number> {
  const ch = impl.make(cap);
  const producer = (async () => {
    for (let i = 0; i < n; i++) await impl.send(ch, i);
  })();
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await impl.recv(ch);
  await producer;
  return sum;
}

// js-csp is written in its own style, goroutines as generators.
function cspRun(config: Config, n: number): Promise<number> {
  return new Promise((resolve) => {
    let sum = 0;
    if (config === 'pingpong') {
      const ping = csp.chan();
      const pong = csp.chan();
      csp.go(function* (): Generator<unknown, void, unknown> {
        for (let i = 0; i < n; i++) yield csp.put(pong, (yield csp.take(ping)) as number);
      });
      csp.go(function* (): Generator<unknown, void, unknown> {
        for (let i = 0; i < n; i++) {
          yield csp.put(ping, i);
          sum += (yield csp.take(pong)) as number;
        }
        resolve(sum);
      });
      return;
    }
    const cap = capacity[config];
    const ch = cap === 0 ? csp.chan() : csp.chan(cap);
    csp.go(function* (): Generator<unknown, void, unknown> {
      for (let i = 0; i < n; i++) yield csp.put(ch, i);
    });
    csp.go(function* (): Generator<unknown, void, unknown> {
      for (let i = 0; i < n; i++) sum += (yield csp.take(ch)) as number;
      resolve(sum);
    });
  });
}

function run(name: string, config: Config, n: number): Promise<number> {
  if (name === 'js-csp') return cspRun(config, n);
  if (name === 'fanout') {
    return config === 'pingpong' ? fanoutPingPong(n) : fanoutProducerConsumer(capacity[config], n);
  }
  const impl = impls[name];
  if (impl === undefined) throw new Error(`unknown implementation ${name}`);
  return config === 'pingpong' ? pingPong(impl, n) : producerConsumer(impl, capacity[config], n);
}

async function one(name: string, config: Config): Promise<void> {
  await run(name, config, WARMUP);
  // Best of a few runs, in wall time and in this process's CPU time: the
  // machine is shared, and a slow run says more about the neighbours than
  // about the channel. CPU time leaves out the time spent descheduled.
  let wall = Number.POSITIVE_INFINITY;
  let cpu = Number.POSITIVE_INFINITY;
  for (let r = 0; r < RUNS; r++) {
    let sum = 0;
    const cpu0 = process.cpuUsage();
    const ns = await time(async () => {
      sum = await run(name, config, N);
    });
    const used = process.cpuUsage(cpu0);
    if (sum !== (N * (N - 1)) / 2) throw new Error(`${name} ${config}: wrong sum ${sum}`);
    wall = Math.min(wall, ns);
    cpu = Math.min(cpu, (used.user + used.system) * 1000);
  }
  report({ nsPerOp: wall / N, cpuNsPerOp: cpu / N, peakRssMb: peakRssMb() });
}

const names = ['floor', 'fanout', 'chan', 'js-csp', 'channel-ts'];
const skip = (name: string, config: Config) => name === 'channel-ts' && config !== 'pingpong';

interface Result {
  nsPerOp: number;
  cpuNsPerOp: number;
  peakRssMb: number;
}

if (subject !== undefined) {
  await one(subject, process.argv[3] as Config);
} else {
  const here = new URL(import.meta.url).pathname;
  const rows: (string | number)[][] = [];
  for (const config of configs) {
    const results: Record<string, Result> = {};
    for (const name of names) {
      if (skip(name, config)) continue;
      results[name] = isolated<Result>(here, [name, config]);
    }
    const floor = results.floor!;
    const ours = results.fanout!;
    for (const [name, r] of Object.entries(results)) {
      rows.push([
        config,
        name,
        fmt(r.nsPerOp),
        fmt(r.cpuNsPerOp),
        fmt(r.cpuNsPerOp / floor.cpuNsPerOp, 2),
        fmt(r.cpuNsPerOp / ours.cpuNsPerOp, 2),
        fmt(r.peakRssMb),
      ]);
    }
  }
  console.log(
    `${N} messages per case, best of ${RUNS} runs. pingpong: ns per round trip over two unbuffered channels; capN: one producer and one consumer, ns per message. Ratios use CPU time (user + system) of the case's process.\n`,
  );
  console.log(
    table(
      ['config', 'implementation', 'wall ns/op', 'CPU ns/op', 'x floor', 'x fanout', 'peak RSS MB'],
      rows,
    ),
  );
}
