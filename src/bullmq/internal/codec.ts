// What crosses the network: task inputs and outputs as JSON, checked so that
// nothing is silently lost or oversized, and errors as plain envelopes that
// the caller turns back into error objects.

import {
  CancelledError,
  FanoutError,
  RemoteTaskError,
  SerializationError,
  TaskModuleError,
  TimeoutError,
  WorkerExitedError,
} from '../../errors.ts';

/** Default limit of one input or output, in bytes of JSON. */
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

// JSON drops functions and symbols and turns Maps and Sets into `{}`
// without a word; a task would then run on data its caller never sent.
function strict(key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === 'function' || type === 'symbol' || type === 'bigint') {
    throw new SerializationError(`a ${type}${where(key)} cannot be sent as JSON`);
  }
  if (type === 'object' && (value instanceof Map || value instanceof Set)) {
    throw new SerializationError(
      `a ${value instanceof Map ? 'Map' : 'Set'}${where(key)} cannot be sent as JSON (convert it to an array)`,
    );
  }
  return value;
}

function where(key: string): string {
  return key === '' ? '' : ` at key ${JSON.stringify(key)}`;
}

/**
 * Serialises a task's input or output to JSON, or returns undefined for
 * `undefined`. Throws SerializationError for what JSON cannot carry and for
 * more than `limit` bytes.
 */
export function encode(what: string, value: unknown, limit: number): string | undefined {
  if (value === undefined) return undefined;
  let json: string;
  try {
    json = JSON.stringify(value, strict);
  } catch (err) {
    if (err instanceof SerializationError) {
      err.message = `the task's ${what} cannot be serialised: ${err.message}`;
      throw err;
    }
    throw new SerializationError(
      `the task's ${what} cannot be serialised: ${(err as Error)?.message ?? err}`,
      { cause: err },
    );
  }
  if (json === undefined) return undefined;
  // A UTF-8 byte is at most 3 per UTF-16 unit: count bytes only near the limit.
  if (json.length > limit || (json.length * 3 > limit && Buffer.byteLength(json) > limit)) {
    throw new SerializationError(
      `the task's ${what} is ${Buffer.byteLength(json)} bytes of JSON, more than the limit of ${limit}`,
    );
  }
  return json;
}

/** An error as it travels: name, message, stack, JSON-safe own properties and cause. */
export interface ErrorEnvelope {
  /** name */
  n: string;
  /** message */
  m: string;
  /** the remote stack */
  s?: string;
  /** own properties such as `code`, with primitive values */
  p?: Record<string, string | number | boolean | null>;
  /** cause */
  c?: ErrorEnvelope;
  /** a thrown value that is not an Error, as it was (JSON) */
  v?: unknown;
}

const SKIP = new Set(['name', 'message', 'stack', 'cause']);

/** Turns whatever a task threw into an envelope; never throws. */
export function encodeError(err: unknown, depth = 0): ErrorEnvelope {
  if (!(err instanceof Error)) {
    try {
      if (JSON.stringify(err, strict) !== undefined) return { n: 'Error', m: String(err), v: err };
    } catch {}
    return { n: 'Error', m: safeString(err) };
  }
  const env: ErrorEnvelope = { n: safeString(err.name), m: safeString(err.message) };
  if (typeof err.stack === 'string') env.s = err.stack;
  for (const key of Object.keys(err)) {
    if (SKIP.has(key)) continue;
    const v = (err as unknown as Record<string, unknown>)[key];
    if (v === null || typeof v === 'string' || typeof v === 'boolean' || Number.isFinite(v)) {
      (env.p ??= {})[key] = v as string | number | boolean | null;
    }
  }
  if (err.cause !== undefined && depth < 4) env.c = encodeError(err.cause, depth + 1);
  return env;
}

function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

const BUILTIN: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * Recreates an error from its envelope: fanout's own classes and the
 * built-in ones as themselves, anything else as a RemoteTaskError; the
 * stack is the remote one.
 */
export function decodeError(env: ErrorEnvelope): unknown {
  if ('v' in env) return env.v;
  const p = env.p ?? {};
  let err: Error;
  let skip: string | undefined = 'code';
  switch (env.n) {
    case 'CancelledError':
      err = new CancelledError(env.m);
      break;
    case 'SerializationError':
      err = new SerializationError(env.m);
      break;
    case 'FanoutError':
      err = new FanoutError(env.m);
      break;
    case 'TimeoutError':
      err = new TimeoutError(typeof p.ms === 'number' ? p.ms : 0, env.m);
      break;
    case 'TaskModuleError':
      err = new TaskModuleError(
        env.m,
        String(p.module ?? ''),
        p.task == null ? undefined : String(p.task),
      );
      break;
    case 'WorkerExitedError':
      err = new WorkerExitedError(env.m, typeof p.exitCode === 'number' ? p.exitCode : undefined);
      break;
    default: {
      const Builtin = Object.hasOwn(BUILTIN, env.n) ? BUILTIN[env.n] : undefined;
      if (Builtin) {
        err = new Builtin(env.m);
        skip = undefined;
      } else {
        err = new RemoteTaskError(env.n, env.m, p.code);
      }
    }
  }
  for (const key of Object.keys(p)) {
    if (key !== skip && !(key in err)) (err as unknown as Record<string, unknown>)[key] = p[key];
  }
  if (skip === undefined && 'code' in p) (err as unknown as Record<string, unknown>).code = p.code;
  if (env.s !== undefined) err.stack = env.s;
  if (env.c !== undefined) {
    Object.defineProperty(err, 'cause', {
      value: decodeError(env.c),
      writable: true,
      configurable: true,
    });
  }
  return err;
}
