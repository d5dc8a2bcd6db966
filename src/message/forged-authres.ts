/**
 * RFC 8601 5: a border MTA removes Authentication-Results fields that carry its own authserv-id
 * before delivery, or a sender could forge "dmarc=pass" in our name for the recipient's client
 * to believe. Kagami's own field is prepended afterwards, so it is never removed.
 */
import { splitMessage } from './headers.js';

/** The authserv-id of an Authentication-Results value: its first token, comments skipped. */
export function authservIdOf(value: string): string {
  const noComments = value.replace(/\([^()]*\)/g, ' ');
  return noComments.split(';')[0]!.trim().split(/\s+/)[0]!.toLowerCase();
}

/** The message without Authentication-Results fields claiming `authservId`; the same Buffer when it has none. */
export function stripForgedAuthResults(message: Buffer, authservId: string): Buffer {
  const headerEnd = message.indexOf('\r\n\r\n');
  const head = message.toString('latin1', 0, headerEnd < 0 ? message.length : headerEnd).toLowerCase();
  if (!head.includes('authentication-results')) return message;
  const ours = authservId.toLowerCase();
  const split = splitMessage(message);
  const kept = split.fields.filter((f) => !(f.key === 'authentication-results' && authservIdOf(f.raw.slice(f.raw.indexOf(':') + 1)) === ours));
  if (kept.length === split.fields.length) return message;
  return Buffer.concat([Buffer.from(kept.map((f) => f.raw).join('') + '\r\n', 'latin1'), split.body]);
}
