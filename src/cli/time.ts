/**
 * Points in time given on the command line (`--since`, `--until`): an ISO 8601 date or date-time
 * (RFC 3339 profile; UTC when it carries no offset), or a span back from now (`30m`, `24h`, `7d`).
 */

/** The instant in milliseconds since the epoch, or why the text is not one. */
import { InvalidArgumentError } from 'commander';

export type TimeSpecResult = { ok: true; ms: number } | { ok: false; error: string };

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const RELATIVE = /^(\d{1,9})([smhdw])$/;
// date [ (T|space) hh:mm [:ss [.fraction]] [Z | ±hh[:]mm] ]
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/;

const EXPECTED = 'expected an ISO 8601 time (2026-12-04, 2026-12-04T16:15Z, 2026-12-04T17:15:00+01:00) or a span back from now (30m, 24h, 7d)';

export function parseTimeSpec(text: string, now: number): TimeSpecResult {
  const spec = text.trim();
  const rel = RELATIVE.exec(spec);
  if (rel) return { ok: true, ms: now - Number(rel[1]) * UNIT_MS[rel[2]!]! };
  const m = ISO.exec(spec);
  if (!m) return { ok: false, error: `"${text}": ${EXPECTED}` };
  const [year, month, day, hour = 0, minute = 0, second = 0] = m.slice(1, 7).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const millis = m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0;
  if (month! < 1 || month! > 12 || hour > 23 || minute > 59 || second > 59) return { ok: false, error: `"${text}": a field is out of range` };
  const utc = Date.UTC(year!, month! - 1, day!, hour, minute, second, millis);
  // Date.UTC rolls 2026-02-30 over into March: compare the day back to catch it.
  if (new Date(utc).getUTCDate() !== day) return { ok: false, error: `"${text}": no such day` };
  const zone = m[8];
  if (!zone || zone === 'Z' || zone === 'z') return { ok: true, ms: utc };
  const digits = zone.replace(':', '');
  const offHours = Number(digits.slice(1, 3));
  const offMinutes = Number(digits.slice(3, 5));
  if (offHours > 23 || offMinutes > 59) return { ok: false, error: `"${text}": the UTC offset is out of range` };
  const offset = (offHours * 60 + offMinutes) * 60_000 * (digits[0] === '-' ? -1 : 1);
  return { ok: true, ms: utc - offset };
}

/** commander argument parser for --since/--until: a time spec, now. */
export function timeOption(text: string): number {
  const r = parseTimeSpec(text, Date.now());
  if (!r.ok) throw new InvalidArgumentError(r.error);
  return r.ms;
}

/** commander argument parser for --limit: a positive whole number. */
export function limitOption(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new InvalidArgumentError('a positive number of rows');
  return n;
}
