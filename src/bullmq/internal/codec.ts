// What crosses the network: task inputs and outputs as JSON, checked so that
// nothing is silently lost or oversized. Errors travel as the envelopes of
// ../../internal/error-codec.ts.

import { SerializationError } from '../../errors.ts';

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
