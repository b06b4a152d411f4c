// Errors that cross a thread or machine boundary travel as plain envelopes:
// structured clone keeps neither `code` nor custom classes (nor, reliably,
// `cause`), and JSON keeps less still. On the other side an envelope becomes
// the built-in class it was, fanout's own class (so that an abort reason
// keeps its class), or a RemoteTaskError, with the remote stack, `code`,
// `cause` and primitive own properties kept. Any AggregateError, whatever
// its class, becomes an AggregateError with its inner errors and its name
// (fanout's AggregateTaskError an AggregateTaskError, with its indices): the
// inner errors are what one is for, and a RemoteTaskError has no place for
// them. Both executors use this one codec: fanout/threads sends envelopes by
// structured clone, fanout/bullmq as JSON.

import { types } from 'node:util';
import {
  AggregateTaskError,
  CancelledError,
  FanoutError,
  RemoteTaskError,
  SerializationError,
  TaskModuleError,
  TimeoutError,
  WorkerExitedError,
} from '../errors.ts';

/** What survives both structured clone and JSON. */
type Primitive = string | number | boolean | null;

export interface EncodedError {
  name: string;
  message: string;
  stack?: string;
  code?: Primitive;
  cause?: Encoded;
  errors?: Encoded[];
  /** An AggregateTaskError's `indices`. */
  indices?: number[];
  props?: Record<string, Primitive>;
  dom?: boolean;
}

/** An error (`e`), or any other thrown value (`v`, sent as it is). */
export type Encoded = { e: EncodedError; v?: undefined } | { e?: undefined; v: unknown };

const MAX_DEPTH = 8;
const CODE_AGGREGATE = 'ERR_FANOUT_AGGREGATE';
const OWN = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors']);

function isPrimitive(v: unknown): v is Primitive {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number';
}

function isError(v: unknown): v is Error {
  return v instanceof Error || types.isNativeError(v);
}

/**
 * Turns a thrown value into an envelope. With `json`, a thrown value that
 * is not an Error is kept only if it survives JSON unchanged in kind;
 * otherwise it becomes an Error that names it.
 */
export function encode(value: unknown, json = false, depth = 0): Encoded {
  if (!isError(value)) return json && !jsonSafe(value) ? encodeUncloneable(value) : { v: value };
  const err = value as Error & { code?: unknown };
  const out: EncodedError = { name: safeString(err.name), message: safeString(err.message) };
  if (typeof err.stack === 'string') out.stack = err.stack;
  if (isPrimitive(err.code)) out.code = err.code;
  if (typeof DOMException === 'function' && err instanceof DOMException) out.dom = true;
  if (depth < MAX_DEPTH) {
    if ('cause' in err && err.cause !== undefined) out.cause = encode(err.cause, json, depth + 1);
    if (err instanceof AggregateError && Array.isArray(err.errors)) {
      out.errors = err.errors.map((e) => encode(e, json, depth + 1));
      // By code, not class: the task module may hold another copy of fanout.
      const indices = (err as { indices?: unknown }).indices;
      if (
        out.code === CODE_AGGREGATE &&
        Array.isArray(indices) &&
        indices.every(Number.isInteger)
      ) {
        out.indices = [...indices];
      }
    }
  }
  for (const key of Object.keys(err)) {
    const v = (err as unknown as Record<string, unknown>)[key];
    if (!OWN.has(key) && isPrimitive(v)) (out.props ??= {})[key] = v;
  }
  return { e: out };
}

function jsonSafe(value: unknown): boolean {
  if (value === undefined || isPrimitive(value)) return true;
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}

/** A stand-in for a thrown value that the transport cannot carry. */
export function encodeUncloneable(value: unknown): Encoded {
  return { e: { name: 'Error', message: `uncloneable thrown value: ${safeString(value)}` } };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

const BUILTIN: Record<string, new (message: string, options?: ErrorOptions) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

type Options = ErrorOptions | undefined;
const num = (v: Primitive | undefined) => (typeof v === 'number' ? v : undefined);
const str = (v: Primitive | undefined) => (v == null ? undefined : String(v));

/** Rebuilds one of fanout's classes; undefined when what came cannot make one. */
type Make = (
  e: EncodedError,
  props: Record<string, Primitive>,
  options: Options,
  errors: unknown[] | undefined,
) => Error | undefined;

// fanout's own classes, recognised by their stable code and name (a class
// elsewhere that merely reuses a code stays a RemoteTaskError).
const FANOUT: Record<string, [name: string, make: Make]> = {
  ERR_FANOUT: ['FanoutError', (e, _p, o) => new FanoutError(e.message, o)],
  ERR_FANOUT_CANCELLED: ['CancelledError', (e, _p, o) => new CancelledError(e.message, o)],
  ERR_FANOUT_TIMEOUT: ['TimeoutError', (e, p, o) => new TimeoutError(num(p.ms) ?? 0, e.message, o)],
  ERR_FANOUT_SERIALIZATION: [
    'SerializationError',
    (e, _p, o) => new SerializationError(e.message, o),
  ],
  ERR_FANOUT_TASK_MODULE: [
    'TaskModuleError',
    (e, p, o) => new TaskModuleError(e.message, str(p.module) ?? '', str(p.task), o),
  ],
  ERR_FANOUT_WORKER_EXITED: [
    'WorkerExitedError',
    (e, p, o) => new WorkerExitedError(e.message, num(p.exitCode), o),
  ],
  [CODE_AGGREGATE]: ['AggregateTaskError', aggregateTask],
};

/** Recreates on this side what {@link encode} sent. */
export function decode(enc: Encoded): unknown {
  if (enc.e === undefined) return enc.v;
  const e = enc.e;
  const props = e.props ?? {};
  const options = e.cause !== undefined ? { cause: decode(e.cause) } : undefined;
  const own = typeof e.code === 'string' ? FANOUT[e.code] : undefined;
  const errors = e.errors?.map(decode);
  const made =
    own !== undefined && own[0] === e.name ? own[1](e, props, options, errors) : undefined;
  let err: Error;
  if (e.dom) {
    err = new DOMException(e.message, e.name);
  } else if (made !== undefined) {
    err = made;
  } else if (errors !== undefined) {
    // Any other AggregateError: the base class, keeping its name.
    err = new AggregateError(errors, e.message, options);
    if (e.name !== 'AggregateError') define(err, 'name', e.name, false);
  } else if (Object.hasOwn(BUILTIN, e.name)) {
    err = new BUILTIN[e.name]!(e.message, options);
  } else {
    err = new RemoteTaskError(e.name, e.message, e.code ?? undefined, options);
  }
  define(err, 'stack', e.stack, false);
  if (!(err instanceof FanoutError)) define(err, 'code', e.code, true);
  for (const [key, v] of Object.entries(props)) if (!(key in err)) define(err, key, v, true);
  return err;
}

/** fanout's AggregateTaskError, when its errors and indices came whole. */
function aggregateTask(
  e: EncodedError,
  _props: Record<string, Primitive>,
  options: Options,
  errors: unknown[] | undefined,
): Error | undefined {
  const indices = e.indices;
  if (errors === undefined || indices?.length !== errors.length) return undefined;
  // Its constructor writes a message of its own, and takes no cause.
  const err = new AggregateTaskError(errors, indices, errors.length);
  define(err, 'message', e.message, false);
  define(err, 'cause', options?.cause, false);
  return err;
}

function define(target: object, key: string, value: unknown, enumerable: boolean): void {
  if (value === undefined) return;
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable });
}
