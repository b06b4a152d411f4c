// The select protocol: the few methods `select` needs from a channel. Any
// object that implements Receivable or Sendable can take part in a select,
// next to fanout's own Channel (a timer, a broadcast, a test double).
//
// The contract is Go's: a waiter is parked with add*, and from then on the
// channel settles it at most once (deliver, taken or fail), after removing it
// from its queue; or its owner takes it back with remove* and the channel
// forgets it. Both happen synchronously, which is what makes a value move
// exactly once even when the waiting side is aborted.

/**
 * RecvResult is what a receive yields: a value with `ok: true`, or
 * `{ value: undefined, ok: false }` once the channel is closed and drained.
 *
 * @example
 * ```ts
 * const r: RecvResult<Job> = await jobs.recv()
 * if (r.ok) await handle(r.value)
 * ```
 */
export type RecvResult<T> = { value: T; ok: true } | { value: undefined; ok: false };

/**
 * Receiver is a parked receive, as a channel sees it: `select` and
 * `Channel.recv` park one with `addReceiver`, and the channel settles it.
 *
 * @example
 * ```ts
 * // In a Receivable's implementation, handing a value to the first waiter:
 * const receiver = this.#waiting.shift()
 * receiver?.deliver(value, true)
 * ```
 */
export interface Receiver<T> {
  /**
   * deliver hands the receiver a value (`ok` true) or tells it the channel is
   * closed and drained (`ok` false, `value` undefined). The channel calls it
   * at most once, after removing the receiver from its queue.
   */
  deliver(value: T | undefined, ok: boolean): void;
}

/**
 * Sender is a parked send, as a channel sees it: `select` and
 * `Channel.send` park one with `addSender`, and the channel settles it.
 *
 * @example
 * ```ts
 * // In a Sendable's implementation, taking the first waiting value:
 * const sender = this.#senders.shift()
 * if (sender) { take(sender.value); sender.taken() }
 * ```
 */
export interface Sender<T> {
  /** The value the channel takes when a receiver or buffer slot is free. */
  readonly value: T;
  /** taken tells the sender its value was taken; called at most once. */
  taken(): void;
  /** fail settles the sender with `error` (a ChannelClosedError when the channel closes). */
  fail(error: unknown): void;
}

/**
 * Receivable describes anything `select` can receive from: a Channel, or
 * any object with these three methods (see docs/channels.md for the rules
 * they must keep).
 *
 * @example
 * ```ts
 * const r = await select([recv(jobs), recv(quit)])
 * ```
 */
export interface Receivable<T> {
  /** tryRecv takes a value if one is ready; `undefined` means it would block. */
  tryRecv(): RecvResult<T> | undefined;
  /** addReceiver parks `receiver` at the back of the queue of waiting receivers. */
  addReceiver(receiver: Receiver<T>): void;
  /** removeReceiver takes back a parked receiver that has not been settled. */
  removeReceiver(receiver: Receiver<T>): void;
}

/**
 * Sendable describes anything `select` can send to: a Channel, or any
 * object with these three methods (see docs/channels.md for the rules they
 * must keep).
 *
 * @example
 * ```ts
 * await select([send(out, value), recv(quit)])
 * ```
 */
export interface Sendable<T> {
  /** trySend hands over `value` if it can without waiting; throws if the channel is closed. */
  trySend(value: T): boolean;
  /** addSender parks `sender` at the back of the queue of waiting senders. */
  addSender(sender: Sender<T>): void;
  /** removeSender takes back a parked sender that has not been settled. */
  removeSender(sender: Sender<T>): void;
}
