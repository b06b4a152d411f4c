// The two workloads of bench/threads.ts, shared by every pool's worker file:
// a tiny task, and a CPU-bound task doing a fixed amount of work (so that a
// loaded machine makes it slower rather than shorter).
export function inc(x) {
  return x + 1;
}

export function cpu(iterations) {
  let h = 2166136261;
  for (let i = 0; i < iterations; i++) {
    h ^= i;
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

// Polls only ctx.signal.aborted, as CPU-bound code does (threadPool only).
export function spinUntilAborted(_, ctx) {
  let n = 0;
  while (!ctx.signal.aborted) n++;
  return n;
}
