// The public API of `fanout/threads`, listed by name. The package root never
// imports this file, so the core loads no worker_threads.

export {
  type ThreadPool,
  type ThreadPoolOptions,
  type ThreadTask,
  threadPool,
} from './pool.ts';
export { type Transfer, transfer } from './transfer.ts';
