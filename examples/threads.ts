// fanOut on every core through fanout/threads: the same task on the event
// loop and on worker threads, then a CPU-bound task cancelled in its thread.
//
// Run: node --import tsx examples/threads.ts

import { fanOut } from '../src/index.ts';
import { threadPool } from '../src/threads/index.ts';
import { sha256 } from './tasks/hash.ts';

const inputs = Array.from({ length: 400 }, (_, i) => ({ text: `item ${i}`, rounds: 500 }));

await using pool = threadPool({ module: new URL('./tasks/hash.ts', import.meta.url) });
await pool.ready();

let t0 = performance.now();
const inline = await fanOut(inputs, sha256);
const inlineMs = performance.now() - t0;

t0 = performance.now();
const threaded = await fanOut(inputs, pool.task<(typeof inputs)[number], string>('sha256'), {
  concurrency: 64,
});
const threadedMs = performance.now() - t0;

console.log(`${inputs.length} hashes of 500 rounds`);
console.log(`  event loop:          ${inlineMs.toFixed(0)} ms`);
console.log(`  ${pool.size} worker threads:    ${threadedMs.toFixed(0)} ms`);
console.log(`  same results:        ${threaded.every((d, i) => d === inline[i])}`);

// A busy loop that never yields still sees ctx.signal.aborted flip in its
// thread: the flag lives in shared memory.
t0 = performance.now();
const error = await fanOut([1], pool.task('spin'), { timeout: 50 }).catch((e: Error) => e);
console.log(
  `spinning task stopped by its 50 ms timeout after ${(performance.now() - t0).toFixed(0)} ms: ${(error as Error).name}`,
);
