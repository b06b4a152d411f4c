// The public API of `fanout/bullmq`, listed by name. It needs the optional
// peers `bullmq` and `ioredis`; the package root never loads this file.

export {
  type ClusterConnection,
  type ConnectionOptions,
  connectionFromUrl,
} from './connection.ts';
export {
  type BullmqExecutor,
  type BullmqExecutorOptions,
  bullmqExecutor,
  type RemoteTask,
  type RemoteTaskOptions,
} from './executor.ts';
export type { Backoff } from './internal/options.ts';
export {
  type RemoteTaskContext,
  type ServeTasksOptions,
  serveTasks,
  type TaskServer,
} from './serve.ts';
