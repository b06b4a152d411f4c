import { listen, noop } from '../internal/abort.ts';
import { show } from '../internal/show.ts';
import { checkBoolean, checkObject, checkSignal } from '../internal/validate.ts';
import {
  checkReceivable,
  checkSendable,
  isReceivable,
  isSendable,
  notChannelLike,
} from './internal/check.ts';
import type { Receivable, Receiver, Sendable, Sender } from './protocol.ts';

/**
 * RecvCase is a receive case of a select, built by {@link recv}.
 *
 * @example
 * ```ts
 * const c: RecvCase<number> = recv(numbers)
 * ```
 */
export interface RecvCase<T = unknown> {
  readonly kind: 'recv';
  readonly channel: Receivable<T>;
}

/**
 * SendCase is a send case of a select, built by {@link send}.
 *
 * @example
 * ```ts
 * const c: SendCase<string> = send(lines, 'hello')
 * ```
 */
export interface SendCase<T = unknown> {
  readonly kind: 'send';
  readonly channel: Sendable<T>;
  readonly value: T;
}

/**
 * SelectCase is one case of a select: a receive or a send.
 *
 * @example
 * ```ts
 * const cases: SelectCase[] = inputs.map((ch) => recv(ch))
 * const { index, value } = await select(cases)
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: a case list mixes channels of any element type.
export type SelectCase = RecvCase<any> | SendCase<any>;

/**
 * SelectOptions holds the options of {@link select}.
 *
 * @example
 * ```ts
 * await select([recv(jobs)], { signal: AbortSignal.timeout(1_000) })
 * ```
 */
export interface SelectOptions {
  /** Gives up waiting when it aborts: select then rejects with `signal.reason`, having run no case. */
  signal?: AbortSignal;
  /** Like Go's `default:` branch: settle at once with index -1 when no case is ready. Default false. */
  default?: boolean;
}

type CaseResult<C, I extends number> =
  C extends RecvCase<infer T>
    ? { index: I; value: T; ok: true } | { index: I; value: undefined; ok: false }
    : { index: I; value?: undefined; ok?: undefined };

/**
 * SelectResult is what a select settles with: the `index` of the case that
 * ran (-1 for the default), and for a receive case its `value` and `ok`, as
 * `recv` gives them. For a tuple of cases, checking `index` narrows `value`
 * to that case's element type.
 *
 * @example
 * ```ts
 * const r = await select([recv(names), recv(ages)])
 * if (r.index === 1 && r.ok) r.value // number, if ages is a Channel<number>
 * ```
 */
export type SelectResult<C extends readonly SelectCase[] = SelectCase[]> =
  number extends C['length']
    ? { index: number; value?: unknown; ok?: boolean }
    :
        | {
            [K in keyof C]: K extends `${infer I extends number}` ? CaseResult<C[K], I> : never;
          }[number]
        | { index: -1; value?: undefined; ok?: undefined };

/**
 * recv builds a select case that receives from `channel`. When it runs, the
 * select settles with its index, `value` and `ok` (false once the channel is
 * closed and drained).
 *
 * @throws TypeError when `channel` is not a Channel or another Receivable.
 *
 * @example
 * ```ts
 * const r = await select([recv(results), recv(errors)])
 * ```
 */
export function recv<T>(channel: Receivable<T>): RecvCase<T> {
  checkReceivable('recv', 'channel', channel);
  return { kind: 'recv', channel };
}

/**
 * send builds a select case that sends `value` on `channel`. When it runs,
 * the select settles with its index; if the channel is closed when the case
 * is chosen, the select rejects with ChannelClosedError (Go panics).
 *
 * @throws TypeError when `channel` is not a Channel or another Sendable.
 *
 * @example
 * ```ts
 * await select([send(out, v), recv(done)])
 * ```
 */
export function send<T>(channel: Sendable<T>, value: T): SendCase<T> {
  checkSendable('send', 'channel', channel);
  return { kind: 'send', channel, value };
}

/**
 * select runs exactly one of `cases`, as Go's select statement does. If some
 * are ready it runs one of them, chosen uniformly at random, at once;
 * otherwise it waits until the first one can run and runs that one only.
 * It settles with the case's index, and for a receive its `value` and `ok`.
 *
 * With `default: true` it never waits: it settles `{ index: -1 }` when no
 * case is ready. When `options.signal` aborts while it waits, it rejects with
 * `signal.reason` having run no case: nothing was taken or sent. An
 * already-aborted signal rejects at once. It adds at most one listener to the
 * signal, removed when it settles. A send case on a closed channel makes it
 * reject with ChannelClosedError when chosen. An empty list waits until the
 * signal aborts (Go's `select {}`), or settles -1 with `default`.
 *
 * Bad arguments reject with a TypeError naming them.
 *
 * @example
 * ```ts
 * for (;;) {
 *   const r = await select([recv(jobs), send(progress, done)], { signal })
 *   if (r.index === 0) { if (!r.ok) break; done += await work(r.value) }
 * }
 * ```
 */
export function select<const C extends readonly SelectCase[]>(
  cases: C,
  options?: SelectOptions,
): Promise<SelectResult<C>>;
export function select(
  cases: readonly SelectCase[],
  options?: SelectOptions,
): Promise<SelectResult> {
  try {
    check(cases, options);
  } catch (err) {
    return Promise.reject(err);
  }
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const n = cases.length;
  // Probe in a random order, stopping at the first ready case: that case is
  // uniformly distributed over the ready ones, and only as much of the
  // permutation is drawn as is needed.
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = i;
  try {
    for (let k = 0; k < n; k++) {
      const j = k + Math.floor(Math.random() * (n - k));
      const index = order[j];
      order[j] = order[k];
      const c = cases[index];
      if (c.kind === 'recv') {
        const r = c.channel.tryRecv();
        if (r !== undefined) return Promise.resolve({ index, value: r.value, ok: r.ok });
      } else if (c.channel.trySend(c.value)) {
        return Promise.resolve({ index });
      }
    }
  } catch (err) {
    // A send case chosen on a closed channel (ChannelClosedError), or a
    // failing channel-like: either way the select fails, as Go panics.
    return Promise.reject(err);
  }
  if (options?.default === true) return Promise.resolve({ index: -1 });
  return new Selection(cases, signal).promise;
}

function check(cases: readonly SelectCase[], options: SelectOptions | undefined): void {
  if (!Array.isArray(cases)) {
    throw new TypeError(
      `select: cases must be an array of recv() and send() cases, got ${show(cases)}`,
    );
  }
  for (let i = 0; i < cases.length; i++) {
    const c = cases[i] as Partial<SelectCase> | null;
    if (c?.kind === 'recv') {
      if (!isReceivable(c.channel)) {
        throw notChannelLike('select', `cases[${i}].channel`, c.channel, 'Receivable');
      }
    } else if (c?.kind === 'send') {
      if (!isSendable(c.channel)) {
        throw notChannelLike('select', `cases[${i}].channel`, c.channel, 'Sendable');
      }
    } else {
      throw new TypeError(
        `select: cases[${i}] must be built by recv(channel) or send(channel, value), got ${show(c)}`,
      );
    }
  }
  checkObject('select', 'options', options);
  checkSignal('select', 'options.signal', options?.signal);
  checkBoolean('select', 'options.default', options?.default);
}

// A select waiting on all its cases at once. Whichever case a channel
// settles first wins; the others are taken back from their channels in the
// same tick, before anything else can reach them.
class Selection {
  readonly promise: Promise<SelectResult>;
  #resolve: (result: SelectResult) => void = noop;
  #reject: (reason: unknown) => void = noop;
  readonly #cases: readonly SelectCase[];
  readonly #waiters: (CaseReceiver | CaseSender)[] = [];
  #unlisten = noop;
  #settled = false;

  constructor(cases: readonly SelectCase[], signal: AbortSignal | undefined) {
    this.promise = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#cases = cases;
    try {
      // A channel that breaks the protocol by settling a case while it is
      // being parked must not get the rest of the cases parked after it.
      for (let i = 0; i < cases.length && !this.#settled; i++) {
        const c = cases[i];
        if (c.kind === 'recv') {
          const waiter = new CaseReceiver(this, i);
          c.channel.addReceiver(waiter);
          this.#waiters.push(waiter);
        } else {
          const waiter = new CaseSender(this, i, c.value);
          c.channel.addSender(waiter);
          this.#waiters.push(waiter);
        }
      }
    } catch (err) {
      this.#settled = true;
      this.#withdraw(-1);
      this.#reject(err);
      return;
    }
    if (signal !== undefined && !this.#settled) {
      this.#unlisten = listen(signal, () => {
        this.#settled = true;
        this.#withdraw(-1);
        this.#reject(signal.reason);
      });
    }
  }

  won(index: number, result: SelectResult): void {
    this.#settled = true;
    this.#withdraw(index);
    this.#unlisten();
    this.#resolve(result);
  }

  failed(index: number, error: unknown): void {
    this.#settled = true;
    this.#withdraw(index);
    this.#unlisten();
    this.#reject(error);
  }

  // Takes every case back except `settled`, which its channel already removed.
  #withdraw(settled: number): void {
    const waiters = this.#waiters;
    for (let i = 0; i < waiters.length; i++) {
      if (i === settled) continue;
      const c = this.#cases[i];
      if (c.kind === 'recv') c.channel.removeReceiver(waiters[i] as CaseReceiver);
      else c.channel.removeSender(waiters[i] as CaseSender);
    }
    waiters.length = 0;
  }
}

class CaseReceiver implements Receiver<unknown> {
  readonly #selection: Selection;
  readonly #index: number;
  constructor(selection: Selection, index: number) {
    this.#selection = selection;
    this.#index = index;
  }
  deliver(value: unknown, ok: boolean): void {
    this.#selection.won(this.#index, { index: this.#index, value, ok });
  }
}

class CaseSender implements Sender<unknown> {
  readonly value: unknown;
  readonly #selection: Selection;
  readonly #index: number;
  constructor(selection: Selection, index: number, value: unknown) {
    this.#selection = selection;
    this.#index = index;
    this.value = value;
  }
  taken(): void {
    this.#selection.won(this.#index, { index: this.#index });
  }
  fail(error: unknown): void {
    this.#selection.failed(this.#index, error);
  }
}
