// The Go blog's "Go Concurrency Patterns: Pipelines and cancellation"
// (https://go.dev/blog/pipelines), stage by stage, with fanout's Channel,
// select and WaitGroup. Each function has the Go original above it.
//
//   node --import tsx examples/pipelines-blog.ts
//
// Part 1 squares a few numbers through gen → sq ×2 → merge and reads them
// all. Part 2 is the blog's point: the consumer reads one value and leaves
// early; closing `done` stops every stage, and the WaitGroup shows that no
// stage is left running (in Go they would leak, blocked on a send forever).

import { Channel, recv, select, send, WaitGroup } from '../src/index.ts';

// Every stage started by go() is counted, so main can check nothing leaks.
const running = new WaitGroup();
const go = (fn: () => Promise<void>) => running.go(fn);

// func gen(done <-chan struct{}, nums ...int) <-chan int {
//     out := make(chan int)
//     go func() {
//         defer close(out)
//         for _, n := range nums {
//             select {
//             case out <- n:
//             case <-done:
//                 return
//             }
//         }
//     }()
//     return out
// }
function gen(done: Channel<never>, ...nums: number[]): Channel<number> {
  const out = new Channel<number>();
  go(async () => {
    try {
      for (const n of nums) {
        const r = await select([send(out, n), recv(done)]);
        if (r.index === 1) return;
      }
    } finally {
      out.close();
    }
  });
  return out;
}

// func sq(done <-chan struct{}, in <-chan int) <-chan int {
//     out := make(chan int)
//     go func() {
//         defer close(out)
//         for n := range in {
//             select {
//             case out <- n * n:
//             case <-done:
//                 return
//             }
//         }
//     }()
//     return out
// }
function sq(done: Channel<never>, input: Channel<number>): Channel<number> {
  const out = new Channel<number>();
  go(async () => {
    try {
      // Like Go's `range in`, plus the blog's rule that a stage also stops
      // receiving once done is closed, so its upstream can stop too.
      for (;;) {
        const r = await select([recv(input), recv(done)]);
        if (r.index === 1 || !r.ok) return;
        const s = await select([send(out, r.value * r.value), recv(done)]);
        if (s.index === 1) return;
      }
    } finally {
      out.close();
    }
  });
  return out;
}

// func merge(done <-chan struct{}, cs ...<-chan int) <-chan int {
//     var wg sync.WaitGroup
//     out := make(chan int)
//     output := func(c <-chan int) {
//         defer wg.Done()
//         for n := range c {
//             select {
//             case out <- n:
//             case <-done:
//                 return
//             }
//         }
//     }
//     wg.Add(len(cs))
//     for _, c := range cs {
//         go output(c)
//     }
//     go func() {
//         wg.Wait()
//         close(out)
//     }()
//     return out
// }
function merge(done: Channel<never>, ...cs: Channel<number>[]): Channel<number> {
  const wg = new WaitGroup();
  const out = new Channel<number>();
  const output = async (c: Channel<number>) => {
    try {
      for await (const n of c) {
        const r = await select([send(out, n), recv(done)]);
        if (r.index === 1) return;
      }
    } finally {
      wg.done();
    }
  };
  wg.add(cs.length);
  for (const c of cs) go(() => output(c));
  go(async () => {
    await wg.wait();
    out.close();
  });
  return out;
}

// func main() {
//     done := make(chan struct{})
//     defer close(done)
//     in := gen(done, 2, 3)
//     c1 := sq(done, in)
//     c2 := sq(done, in)
//     out := merge(done, c1, c2)
//     for n := range out { fmt.Println(n) }   // part 1: read everything
//     fmt.Println(<-out)                      // part 2: 4 or 9, then leave
// }
async function readAll(): Promise<void> {
  const done = new Channel<never>();
  try {
    const input = gen(done, 2, 3, 4, 5);
    const out = merge(done, sq(done, input), sq(done, input));
    const squares: number[] = [];
    for await (const n of out) squares.push(n);
    console.log(`part 1: read every square: ${squares.sort((a, b) => a - b).join(', ')}`);
  } finally {
    done.close();
  }
}

async function leaveEarly(): Promise<void> {
  const done = new Channel<never>();
  try {
    const input = gen(done, ...Array.from({ length: 1000 }, (_, i) => i + 1));
    const out = merge(done, sq(done, input), sq(done, input));
    const first = await out.recv();
    console.log(`part 2: read one square (${first.value}) of 1000 and left early`);
  } finally {
    // Go: defer close(done). Every stage blocked on a send or receive wakes
    // up in its select, returns, and closes its own output.
    done.close();
  }
}

// The same with an AbortSignal as the done signal, the TypeScript idiom:
// `await out.send(v, { signal })` is Go's
// `select { case out <- v: case <-done: return }`, and likewise for recv.
function genSignal(signal: AbortSignal, ...nums: number[]): Channel<number> {
  const out = new Channel<number>();
  go(() =>
    stopOnAbort(signal, out, async () => {
      for (const n of nums) await out.send(n, { signal });
    }),
  );
  return out;
}

function sqSignal(signal: AbortSignal, input: Channel<number>): Channel<number> {
  const out = new Channel<number>();
  go(() =>
    stopOnAbort(signal, out, async () => {
      for (;;) {
        const r = await input.recv({ signal });
        if (!r.ok) return;
        await out.send(r.value * r.value, { signal });
      }
    }),
  );
  return out;
}

// Runs a stage body, closes its output however it ends, and treats the
// abort it was asked for as a normal return.
async function stopOnAbort(signal: AbortSignal, out: Channel<number>, body: () => Promise<void>) {
  try {
    await body();
  } catch (err) {
    if (err !== signal.reason) throw err;
  } finally {
    out.close();
  }
}

async function leaveEarlyWithSignal(): Promise<void> {
  const controller = new AbortController();
  try {
    const input = genSignal(controller.signal, ...Array.from({ length: 1000 }, (_, i) => i + 1));
    const out = sqSignal(controller.signal, sqSignal(controller.signal, input));
    const firstThree: number[] = [];
    for await (const n of out) {
      firstThree.push(n);
      if (firstThree.length === 3) break;
    }
    console.log(`part 3: with an AbortSignal, read ${firstThree.join(', ')} (n^4) and left early`);
  } finally {
    controller.abort();
  }
}

await readAll();
await leaveEarly();
await leaveEarlyWithSignal();
await running.wait();
console.log('every stage has returned: nothing leaked');
