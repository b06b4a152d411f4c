import { ChannelClosedError } from '../errors.ts';
import { listen } from '../internal/abort.ts';
import { Queue } from '../internal/queue.ts';
import { checkObject, checkSignal } from '../internal/validate.ts';
import { checkCapacity } from './internal/check.ts';
import type { Receivable, Receiver, RecvResult, Sendable, Sender } from './protocol.ts';

/**
 * ChannelOpOptions holds the options of a send or receive that may wait.
 *
 * @example
 * ```ts
 * await ch.send(value, { signal: AbortSignal.timeout(1_000) })
 * ```
 */
export interface ChannelOpOptions {
  /** Gives up waiting when it aborts: the operation then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

// Shared, immutable results: the fast paths allocate nothing they can avoid.
const CLOSED: RecvResult<never> = Object.freeze({ value: undefined, ok: false });
const DONE: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY: unique symbol = Symbol('empty');

function checkOptions(api: string, options: ChannelOpOptions | undefined): void {
  checkObject(api, 'options', options);
  checkSignal(api, 'options.signal', options?.signal);
}

// Lets the iterator take values without going through tryRecv's result object.
let poll: <T>(channel: Channel<T>) => T | typeof EMPTY;

/**
 * Channel is Go's channel: a typed conduit that senders and receivers
 * meet through, first-in first-out on both sides.
 *
 * With `capacity` 0 (the default) it is unbuffered: a send waits until a
 * receiver takes the value, a rendezvous. With a capacity it buffers up to
 * that many values, and a send waits only while the buffer is full.
 *
 * `close` ends it: waiting receivers get `{ ok: false }` once the buffer is
 * drained, waiting senders and later sends fail with ChannelClosedError, and
 * `for await` over the channel ends. An operation whose signal aborts takes
 * nothing and leaves nothing behind: no value is lost, duplicated or handed
 * to an aborted receiver. Each waiting operation adds at most one abort
 * listener, removed when it settles.
 *
 * A send or receive costs about as much as resolving one promise; when the
 * other side is already waiting, the value goes straight to it.
 *
 * @throws TypeError / RangeError when `capacity` is not an integer of 0 or more.
 *
 * @example
 * ```ts
 * const ch = new Channel<number>(8)
 * void (async () => {
 *   for (let i = 0; i < 3; i++) await ch.send(i)
 *   ch.close()
 * })()
 * for await (const n of ch) console.log(n) // 0, 1, 2
 * ```
 */
export class Channel<T> implements Receivable<T>, Sendable<T>, AsyncIterable<T> {
  readonly #capacity: number;
  readonly #buffer = new Queue<T>();
  readonly #receivers = new Queue<Receiver<T>>();
  readonly #senders = new Queue<Sender<T>>();
  #closed = false;

  static {
    poll = <T>(channel: Channel<T>) => channel.#poll();
  }

  constructor(capacity = 0) {
    checkCapacity('new Channel', capacity);
    this.#capacity = capacity;
  }

  /** The number of values waiting in the buffer (always 0 when unbuffered). */
  get length(): number {
    return this.#buffer.length;
  }

  /** The buffer size given to the constructor; 0 for a rendezvous channel. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Whether `close` was called (values may still be buffered). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * send hands `value` to the channel: at once to the longest-waiting
   * receiver, else into a free buffer slot, else it waits its turn behind
   * earlier senders until a receiver or slot takes it.
   *
   * It rejects with ChannelClosedError if the channel is closed, or closes
   * while it waits (the value is then not delivered). When `options.signal`
   * aborts while it waits, it rejects with `signal.reason` and the value is
   * never delivered; an already-aborted signal rejects at once and sends
   * nothing, even if a receiver is waiting.
   *
   * @example
   * ```ts
   * await ch.send(job, { signal })
   * ```
   */
  send(value: T, options?: ChannelOpOptions): Promise<void> {
    if (options !== undefined) {
      try {
        checkOptions('Channel.send', options);
      } catch (err) {
        return Promise.reject(err);
      }
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    if (this.#closed) return Promise.reject(new ChannelClosedError('send on a closed channel'));
    if (this.#offer(value)) return RESOLVED;
    return new PendingSend(this, value, options?.signal).promise;
  }

  /**
   * trySend hands `value` over if it can without waiting (a receiver is
   * waiting or the buffer has room) and reports whether it did.
   *
   * @throws ChannelClosedError when the channel is closed.
   *
   * @example
   * ```ts
   * if (!events.trySend(e)) dropped++
   * ```
   */
  trySend(value: T): boolean {
    if (this.#closed) throw new ChannelClosedError('send on a closed channel');
    return this.#offer(value);
  }

  /**
   * recv takes the next value: from the buffer, else from the
   * longest-waiting sender, else it waits its turn behind earlier receivers.
   * It resolves `{ value, ok: true }`, or `{ value: undefined, ok: false }`
   * once the channel is closed and drained.
   *
   * When `options.signal` aborts while it waits, it rejects with
   * `signal.reason` and takes nothing; an already-aborted signal rejects at
   * once, even if a value is ready.
   *
   * @example
   * ```ts
   * const { value, ok } = await ch.recv({ signal })
   * if (!ok) return // closed
   * ```
   */
  recv(options?: ChannelOpOptions): Promise<RecvResult<T>> {
    if (options !== undefined) {
      try {
        checkOptions('Channel.recv', options);
      } catch (err) {
        return Promise.reject(err);
      }
      if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    }
    const value = this.#poll();
    if (value !== EMPTY) return Promise.resolve({ value, ok: true });
    if (this.#closed) return Promise.resolve(CLOSED);
    return new PendingRecv(this, options?.signal).promise;
  }

  /**
   * tryRecv takes a value if one is ready, without waiting. It returns
   * `{ value, ok: true }`, `{ value: undefined, ok: false }` when the
   * channel is closed and drained, or `undefined` when it would block.
   *
   * @example
   * ```ts
   * const r = ch.tryRecv()
   * if (r?.ok) handle(r.value)
   * ```
   */
  tryRecv(): RecvResult<T> | undefined {
    const value = this.#poll();
    if (value !== EMPTY) return { value, ok: true };
    return this.#closed ? CLOSED : undefined;
  }

  /**
   * close marks the channel closed: no more values may be sent. Waiting
   * receivers resolve `{ ok: false }` (there is nothing buffered while
   * receivers wait), buffered values can still be received, and waiting
   * senders reject with ChannelClosedError.
   *
   * @throws ChannelClosedError when the channel is already closed.
   *
   * @example
   * ```ts
   * try { for (const x of xs) await out.send(x) } finally { out.close() }
   * ```
   */
  close(): void {
    if (this.#closed) throw new ChannelClosedError('close of a closed channel');
    this.#closed = true;
    // One at a time: settling a select's case takes its other cases out of
    // these queues, so a snapshot could settle a select twice.
    const receivers = this.#receivers;
    while (receivers.length > 0) receivers.shift().deliver(undefined, false);
    const senders = this.#senders;
    while (senders.length > 0)
      senders.shift().fail(new ChannelClosedError('channel closed while sending'));
  }

  /**
   * Returns an iterator over received values that ends once the channel is
   * closed and drained, so `for await (const v of ch)` is Go's `range ch`.
   * Several iterators share the values, each value going to one of them.
   *
   * Leaving the loop early (`break`, `return()`) consumes nothing more and
   * leaves the channel open; a `next()` still waiting at that moment is
   * withdrawn and resolves `{ done: true }` without taking a value.
   *
   * @example
   * ```ts
   * for await (const job of jobs) await handle(job)
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return new ChannelIterator(this);
  }

  /** addReceiver is part of the select protocol (see Receivable); prefer `recv`. */
  addReceiver(receiver: Receiver<T>): void {
    this.#receivers.push(receiver);
  }

  /** removeReceiver is part of the select protocol (see Receivable). */
  removeReceiver(receiver: Receiver<T>): void {
    this.#receivers.remove(receiver);
  }

  /** addSender is part of the select protocol (see Sendable); prefer `send`. */
  addSender(sender: Sender<T>): void {
    if (this.#closed) throw new ChannelClosedError('send on a closed channel');
    this.#senders.push(sender);
  }

  /** removeSender is part of the select protocol (see Sendable). */
  removeSender(sender: Sender<T>): void {
    this.#senders.remove(sender);
  }

  #offer(value: T): boolean {
    if (this.#receivers.length > 0) {
      this.#receivers.shift().deliver(value, true);
      return true;
    }
    if (this.#buffer.length < this.#capacity) {
      this.#buffer.push(value);
      return true;
    }
    return false;
  }

  #poll(): T | typeof EMPTY {
    if (this.#buffer.length > 0) {
      const value = this.#buffer.shift();
      // The buffer had been full: the first waiting sender takes the freed slot.
      if (this.#senders.length > 0) {
        const sender = this.#senders.shift();
        this.#buffer.push(sender.value);
        sender.taken();
      }
      return value;
    }
    if (this.#senders.length > 0) {
      const sender = this.#senders.shift();
      const value = sender.value;
      sender.taken();
      return value;
    }
    return EMPTY;
  }
}

// A send waiting in the queue. Settling removes the abort listener at once,
// in the same tick as the hand-over, so an abort can never follow it.
class PendingSend<T> implements Sender<T> {
  readonly value: T;
  readonly promise: Promise<void>;
  resolve!: () => void;
  reject!: (reason: unknown) => void;
  unlisten: (() => void) | undefined = undefined;

  constructor(channel: Channel<T>, value: T, signal: AbortSignal | undefined) {
    this.value = value;
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    channel.addSender(this);
    if (signal !== undefined) {
      this.unlisten = listen(signal, () => {
        channel.removeSender(this);
        this.reject(signal.reason);
      });
    }
  }

  taken(): void {
    if (this.unlisten !== undefined) this.unlisten();
    this.resolve();
  }

  fail(error: unknown): void {
    if (this.unlisten !== undefined) this.unlisten();
    this.reject(error);
  }
}

class PendingRecv<T> implements Receiver<T> {
  readonly promise: Promise<RecvResult<T>>;
  resolve!: (value: RecvResult<T>) => void;
  reject!: (reason: unknown) => void;
  unlisten: (() => void) | undefined = undefined;

  constructor(channel: Channel<T>, signal: AbortSignal | undefined) {
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    channel.addReceiver(this);
    if (signal !== undefined) {
      this.unlisten = listen(signal, () => {
        channel.removeReceiver(this);
        this.reject(signal.reason);
      });
    }
  }

  deliver(value: T | undefined, ok: boolean): void {
    if (this.unlisten !== undefined) this.unlisten();
    this.resolve(ok ? { value: value as T, ok: true } : CLOSED);
  }
}

// A next() waiting for a value; return() can withdraw it.
class PendingNext<T> implements Receiver<T> {
  readonly promise: Promise<IteratorResult<T, undefined>>;
  resolve!: (value: IteratorResult<T, undefined>) => void;
  readonly iterator: ChannelIterator<T>;

  constructor(iterator: ChannelIterator<T>) {
    this.promise = new Promise((resolve) => {
      this.resolve = resolve;
    });
    this.iterator = iterator;
  }

  deliver(value: T | undefined, ok: boolean): void {
    this.iterator.settled(ok);
    this.resolve(ok ? { value: value as T, done: false } : DONE);
  }
}

class ChannelIterator<T> implements AsyncIterableIterator<T> {
  readonly #channel: Channel<T>;
  #done = false;
  // The next() waiting for a value; only code that calls next() again
  // without awaiting the first has more than one, kept in #more.
  #waiting: PendingNext<T> | undefined = undefined;
  #more: PendingNext<T>[] = [];

  constructor(channel: Channel<T>) {
    this.#channel = channel;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.#done) return Promise.resolve(DONE);
    const value = poll(this.#channel);
    if (value !== EMPTY) return Promise.resolve({ value, done: false });
    if (this.#channel.closed) {
      this.#done = true;
      return Promise.resolve(DONE);
    }
    const pending = new PendingNext<T>(this);
    this.#channel.addReceiver(pending);
    if (this.#waiting === undefined) this.#waiting = pending;
    else this.#more.push(pending);
    return pending.promise;
  }

  return(): Promise<IteratorResult<T, undefined>> {
    this.#done = true;
    const waiting = this.#waiting === undefined ? this.#more : [this.#waiting, ...this.#more];
    this.#waiting = undefined;
    this.#more = [];
    for (const pending of waiting) {
      this.#channel.removeReceiver(pending);
      pending.resolve(DONE);
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  // The one settled is always #waiting: the channel serves its receivers
  // first in, first out, so ours in the order next() parked them, and only
  // return() takes them back, forgetting them all at once.
  settled(ok: boolean): void {
    if (!ok) this.#done = true;
    this.#waiting = this.#more.shift();
  }
}
