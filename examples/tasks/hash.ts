// The task module of examples/threads.ts and examples/bullmq.ts: each named
// export is a task, `(input, ctx) => output`, the same shape in a thread, on
// another machine, or on the event loop.

import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskContext } from '../../src/index.ts';

/** Hashes `text` `rounds` times: CPU-bound work. */
export function sha256(input: { text: string; rounds: number }): string {
  let digest = input.text;
  for (let i = 0; i < input.rounds; i++) digest = createHash('sha256').update(digest).digest('hex');
  return digest;
}

/** Spins until its signal aborts, as CPU-bound code that only polls the flag. */
export function spin(_: unknown, ctx: TaskContext): number {
  let turns = 0;
  while (!ctx.signal.aborted) turns++;
  return turns;
}

/** Tasks of `check` that saw their signal abort, in this process. */
export const stats = { cancelled: 0 };

/** Takes 200 ms, or fails at once for `bad`: fail-fast across a boundary. */
export async function check(
  input: { name: string; bad?: boolean },
  ctx: TaskContext,
): Promise<string> {
  if (input.bad) throw Object.assign(new Error(`${input.name} is bad`), { code: 'E_BAD' });
  try {
    await sleep(200, undefined, { signal: ctx.signal });
  } catch (err) {
    stats.cancelled++;
    throw err;
  }
  return input.name;
}
