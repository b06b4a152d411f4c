import { randomBytes } from 'node:crypto';

/** A short random id, safe in Redis keys and BullMQ job ids (no ':'). */
export function randomId(): string {
  return randomBytes(12).toString('base64url');
}
