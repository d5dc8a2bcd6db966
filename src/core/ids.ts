/**
 * Queue ids: 20 characters of Crockford base32, time first so ids sort by arrival, then 50 random
 * bits so ids made in the same millisecond on any node do not collide. Safe in file names.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function newQueueId(now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = '';
  for (let i = 0; i < 10; i++) rand += ALPHABET[bytes[i]! % 32];
  return time + rand;
}

const QUEUE_ID = /^[0-9A-HJKMNP-TV-Z]{20}$/;

export function isQueueId(value: string): boolean {
  return QUEUE_ID.test(value);
}
