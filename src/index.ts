// The public API of the package root, listed by name.

export { Channel, type ChannelOpOptions } from './channel/channel.ts';
export type {
  Receivable,
  Receiver,
  RecvResult,
  Sendable,
  Sender,
} from './channel/protocol.ts';
export {
  type RecvCase,
  recv,
  type SelectCase,
  type SelectOptions,
  type SelectResult,
  type SendCase,
  select,
  send,
} from './channel/select.ts';
export { type Cancellable, withCancel, withTimeout } from './context.ts';
export {
  AggregateTaskError,
  CancelledError,
  ChannelClosedError,
  FanoutError,
  type FanoutErrorOptions,
  RemoteTaskError,
  SerializationError,
  TaskModuleError,
  TimeoutError,
  WorkerExitedError,
} from './errors.ts';
export {
  type FanOutOptions,
  fanOut,
  fanOutSettled,
  type Progress,
  type Settled,
} from './fan-out.ts';
export { Group, type GroupOptions } from './group.ts';
export { type BroadcastOptions, broadcast } from './stream/broadcast.ts';
export { merge } from './stream/merge.ts';
export {
  type BatchOptions,
  type MapOptions,
  Pipeline,
  type PipelineOptions,
  type PipelineSource,
  pipeline,
  type Stage,
} from './stream/pipeline.ts';
export type {
  AttemptOptions,
  BackoffOptions,
  RetryOptions,
  TaskContext,
  TaskFn,
} from './task.ts';
export { WaitGroup } from './wait-group.ts';
