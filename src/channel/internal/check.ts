// Argument checks for channels and select that the shared validate.ts does
// not cover; they name the API, the argument and the value, as it does.

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  return `an object (${value.constructor?.name ?? Object.prototype.toString.call(value).slice(8, -1)})`;
}

export function checkCapacity(api: string, value: unknown): void {
  if (typeof value !== 'number') {
    throw new TypeError(`${api}: capacity must be a number, got ${show(value)}`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${api}: capacity must be an integer of 0 or more, got ${show(value)}`);
  }
}

function hasMethods(value: unknown, names: string[]): boolean {
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) return false;
  const v = value as Record<string, unknown>;
  return names.every((n) => typeof v[n] === 'function');
}

export function checkReceivable(api: string, arg: string, value: unknown): void {
  if (!hasMethods(value, ['tryRecv', 'addReceiver', 'removeReceiver'])) {
    throw new TypeError(
      `${api}: ${arg} must be a Channel or another Receivable, got ${show(value)}`,
    );
  }
}

export function checkSendable(api: string, arg: string, value: unknown): void {
  if (!hasMethods(value, ['trySend', 'addSender', 'removeSender'])) {
    throw new TypeError(`${api}: ${arg} must be a Channel or another Sendable, got ${show(value)}`);
  }
}
