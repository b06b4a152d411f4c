// The least a pool can do: one message per task each way, no batching.
import { parentPort } from 'node:worker_threads';
import { cpu, inc } from './work.mjs';

const work = { cpu, inc };

parentPort.on('message', ({ id, name, input }) => {
  parentPort.postMessage({ id, value: work[name](input) });
});
