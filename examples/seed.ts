// The seed: Go's ProcessTasksInParallel, written with fanout.
//
// Run: node --import tsx examples/seed.ts   (or: npm start)
//
// The Go original, abridged, next to its fanout counterpart:
//
//   func ProcessTasksInParallel(ctx context.Context, tasks []Task) ([]Result, error) {
//     ctx, cancel := context.WithCancel(ctx)          // fanOut makes one shared signal per call
//     defer cancel()
//     results := make(chan Result, len(tasks))        // fan-in: fanOut collects into an array,
//     errs := make(chan error, len(tasks))            //   results[i] for tasks[i]
//     var wg sync.WaitGroup
//     for _, t := range tasks {                       // fan-out: one goroutine per task, unbounded;
//       wg.Add(1)                                     //   fanOut runs at most `concurrency` at once
//       go func(t Task) {
//         defer wg.Done()
//         ctx, span := otel.Tracer("").Start(ctx, "doSomething.parallel") // fanOut: a span per task
//         defer span.End()
//         r, err := doSomething(ctx, t)
//         if ctx.Err() != nil { span.AddEvent("cancelled"); return }      // BUG: sends nothing, so
//         if err != nil { span.RecordError(err); errs <- err; cancel(); return } // the loop below
//         results <- r                                                   // waits forever when the
//       }(t)                                                             // parent is cancelled
//     }
//     go func() { wg.Wait(); close(results); close(errs) }()
//     var out []Result
//     for range tasks {
//       select {
//       case r := <-results: out = append(out, r)
//       case err := <-errs: return nil, err          // BUG: returns while siblings still run,
//       }                                            //   and drops every later error
//     }
//     return out, nil
//   }
//
// With fanout the whole function is one call, and the three bugs are gone:
// a parent abort rejects with its reason after the running tasks stop, later
// errors stay in `error.suppressed`, and concurrency is bounded.

import { setTimeout as sleep } from 'node:timers/promises';
import { fanOut, type TaskContext } from '../src/index.ts';

interface Task {
  id: number;
  ms: number;
  fail?: boolean;
}

/** doSomething: simulated I/O that honours its signal, like a Go function taking ctx. */
async function doSomething(task: Task, { signal }: TaskContext): Promise<string> {
  await sleep(task.ms, undefined, { signal });
  if (task.fail) throw new Error(`task ${task.id} failed`);
  return `result ${task.id}`;
}

/** ProcessTasksInParallel, as fanout writes it. */
function processTasksInParallel(tasks: Task[], signal?: AbortSignal): Promise<string[]> {
  return fanOut(tasks, doSomething, { concurrency: 4, signal, name: 'doSomething.parallel' });
}

const tasks = (failAt?: number): Task[] =>
  Array.from({ length: 8 }, (_, id) => ({ id, ms: 20 + ((id * 37) % 50), fail: id === failAt }));

async function run(title: string, body: () => Promise<string>): Promise<void> {
  const t0 = performance.now();
  let outcome: string;
  try {
    outcome = await body();
  } catch (err) {
    outcome = `rejected: ${(err as Error).message}`;
  }
  console.log(`${title}\n  ${outcome}\n  took ${(performance.now() - t0).toFixed(0)} ms\n`);
}

await run('1. every task succeeds', async () => {
  const results = await processTasksInParallel(tasks());
  return `${results.length} results, in task order: ${results.slice(0, 3).join(', ')}, ...`;
});

await run('2. task 2 fails: the running siblings are cancelled, nothing new starts', async () => {
  let started = 0;
  let cancelled = 0;
  const error = await fanOut(
    tasks(2),
    (task, ctx) => {
      started++;
      return doSomething(task, ctx).catch((err) => {
        if (ctx.signal.aborted) cancelled++;
        throw err;
      });
    },
    { concurrency: 4 },
  ).catch((err: Error) => err);
  return `rejected: ${(error as Error).message}; ${started} of 8 started, ${cancelled} running siblings cancelled`;
});

await run('3. the parent is cancelled after 30 ms (the Go original deadlocks here)', async () => {
  const parent = AbortSignal.timeout(30);
  await processTasksInParallel(tasks(), parent);
  return 'unreachable';
});
