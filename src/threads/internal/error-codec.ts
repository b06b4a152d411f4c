// Errors cross the thread boundary as plain objects: structured clone keeps
// neither `code`, nor custom classes, nor (reliably) `cause`. On the other
// side they become the built-in class they were (fanout's CancelledError and
// TimeoutError too, so that an abort reason keeps its class in the thread),
// or a RemoteTaskError, with the remote stack, `code`, `cause` and primitive
// own properties kept.

import { types } from 'node:util';
import { CancelledError, FanoutError, RemoteTaskError, TimeoutError } from '../../errors.ts';

type Primitive = string | number | boolean | bigint | null | undefined;

export interface EncodedError {
  name: string;
  message: string;
  stack?: string;
  code?: Primitive;
  cause?: Encoded;
  errors?: Encoded[];
  props?: Record<string, Primitive>;
  dom?: boolean;
}

/** An error (`e`) or any other thrown value (`v`, sent by structured clone). */
export type Encoded = { e: EncodedError; v?: undefined } | { e?: undefined; v: unknown };

const MAX_DEPTH = 8;
const OWN = new Set(['name', 'message', 'stack', 'code', 'cause', 'errors']);

function isPrimitive(v: unknown): v is Primitive {
  return v === null || (typeof v !== 'object' && typeof v !== 'function' && typeof v !== 'symbol');
}

function isError(v: unknown): v is Error {
  return v instanceof Error || types.isNativeError(v);
}

/** Turns a thrown value into something structured clone can send. */
export function encode(value: unknown, depth = 0): Encoded {
  if (!isError(value)) return { v: value };
  const err = value as Error & { code?: unknown };
  const out: EncodedError = { name: String(err.name), message: String(err.message) };
  if (typeof err.stack === 'string') out.stack = err.stack;
  if (err.code !== undefined && isPrimitive(err.code)) out.code = err.code;
  if (typeof DOMException === 'function' && err instanceof DOMException) out.dom = true;
  if (depth < MAX_DEPTH) {
    if ('cause' in err) out.cause = encode(err.cause, depth + 1);
    if (err instanceof AggregateError && Array.isArray(err.errors)) {
      out.errors = err.errors.map((e) => encode(e, depth + 1));
    }
  }
  for (const key of Object.keys(err)) {
    const v = (err as unknown as Record<string, unknown>)[key];
    if (!OWN.has(key) && isPrimitive(v)) (out.props ??= {})[key] = v;
  }
  return { e: out };
}

/** A stand-in for a thrown value that structured clone refused. */
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

/** Recreates on this side what {@link encode} sent. */
export function decode(enc: Encoded): unknown {
  if (enc.e === undefined) return enc.v;
  const e = enc.e;
  const options = e.cause !== undefined ? { cause: decode(e.cause) } : undefined;
  let err: Error;
  if (e.dom) {
    err = new DOMException(e.message, e.name);
  } else if (e.name === 'AggregateError' && e.errors !== undefined) {
    err = new AggregateError(e.errors.map(decode), e.message, options);
  } else if (e.code === 'ERR_FANOUT_CANCELLED') {
    err = new CancelledError(e.message, options);
  } else if (e.code === 'ERR_FANOUT_TIMEOUT' && typeof e.props?.ms === 'number') {
    err = new TimeoutError(e.props.ms, e.message, options);
  } else if (Object.hasOwn(BUILTIN, e.name)) {
    err = new BUILTIN[e.name]!(e.message, options);
  } else {
    err = new RemoteTaskError(e.name, e.message, e.code, options);
  }
  define(err, 'stack', e.stack, false);
  if (!(err instanceof FanoutError)) define(err, 'code', e.code, true);
  if (e.props !== undefined) {
    for (const [key, v] of Object.entries(e.props)) if (!(key in err)) define(err, key, v, true);
  }
  return err;
}

function define(target: object, key: string, value: unknown, enumerable: boolean): void {
  if (value === undefined) return;
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable });
}
