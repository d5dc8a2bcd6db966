/**
 * The state of one check_host() run and the one place its DNS questions are asked: the time
 * budget, the trace of every question and answer, and the macro values (RFC 7208 7.2).
 */
import type { DnsAnswer, DnsResolver, RecordData, RecordType } from '../../dns/types.js';
import { shortAnswer } from './dns.js';
import { dotFormat, formatIp, type SpfIp } from './ip.js';
import type { MacroValues } from './macro.js';
import type { SpfRecord, SpfTraceStep } from './types.js';

/** Everything one check_host() run carries. */
export interface Check {
  resolver: DnsResolver;
  ip: SpfIp;
  /** The client address as written in reasons (%{c} form). */
  ipText: string;
  /** <sender> as given, split only when a macro needs it. */
  sender: string;
  helo: string;
  receiver: string;
  now: () => number;
  /** When the time budget runs out (ms); 0 until the clock is first read. */
  deadline: number;
  timeoutMs: number;
  maxLookups: number;
  maxVoids: number;
  maxMx: number;
  maxPtr: number;
  lookups: number;
  voids: number;
  /** DNS queries asked so far. */
  queries: number;
  trace: SpfTraceStep[];
  /** Macro values, built on the first expansion that needs them. */
  values: MacroValues | undefined;
  /** The PTR names of the client (first maxPtr), once looked up. */
  ptrNames: string[] | undefined;
  /** Forward-confirmation of PTR names (RFC 7208 5.5), by name; null: no address records. Made on first use. */
  validated: Map<string, boolean | null> | undefined;
  /** What the term that just matched found (an address, an include's inner match), for the reason. */
  matchDetail: string | undefined;
}

/** Where a lookup happens, for the trace. */
export interface Place {
  domain: string;
  depth: number;
  term: string;
}

/** A stop with permerror or temperror, and why. */
export interface Abort {
  result: 'permerror' | 'temperror';
  detail: string;
}

/** How the evaluation of one domain's record ended; `detail` is the reason without the framing. */
export type Outcome =
  | { result: 'pass' | 'fail' | 'softfail' | 'neutral'; domain: string; record: SpfRecord; mechanism: string | undefined; detail: string }
  | { result: 'none'; domain: string; detail: string; mechanism?: undefined }
  | { result: 'permerror' | 'temperror'; domain: string; detail: string; mechanism?: string };

/** What a mechanism found: a match, no match, no match with nothing found (void), or a stop. */
export type Match = 'match' | 'no-match' | 'void' | Abort;

/**
 * Asks the resolver within the time budget. Not async itself (one promise less per query on the
 * hot path); the caller records the answer with `traced` once it has it.
 */
export function ask<T extends RecordType>(check: Check, name: string, type: T): Promise<DnsAnswer<RecordData[T]>> {
  // The clock is read only from the fourth query on, every fourth query: reading it costs as
  // much as a cached lookup, most checks ask fewer than four questions, and every question is
  // bounded by the resolver's own timeout (so the budget may start a few queries late).
  if ((++check.queries & 3) === 0) {
    const now = check.now();
    if (check.deadline === 0) check.deadline = now + check.timeoutMs;
    else if (now > check.deadline) {
      return Promise.resolve({ kind: 'tempfail', reason: `the check ran past its ${check.timeoutMs} ms budget (RFC 7208 4.6.4)` });
    }
  }
  return check.resolver.query(name, type);
}

/** Records a DNS step in the trace and hands the answer back. */
export function traced<T extends RecordType>(
  check: Check,
  place: Place,
  name: string,
  type: T,
  answer: DnsAnswer<RecordData[T]>,
): DnsAnswer<RecordData[T]> {
  check.trace.push({ domain: place.domain, depth: place.depth, term: place.term, query: { name, type }, answer: shortAnswer(answer, type) });
  return answer;
}

/** Notes a conclusion on the last trace step of this term. */
export function note(check: Check, text: string): void {
  const last = check.trace[check.trace.length - 1];
  if (last !== undefined) last.note = last.note === undefined ? text : `${last.note}; ${text}`;
}

/** The macro values of this check (RFC 7208 7.2), built on first use; `d` and `p` are set per expansion. */
export function macroValues(check: Check): MacroValues {
  const sender = check.sender;
  const at = sender.lastIndexOf('@');
  const local = at > 0 ? sender.slice(0, at) : 'postmaster'; // RFC 7208 4.3: no local-part → "postmaster"
  const domain = at >= 0 ? sender.slice(at + 1) : sender;
  const helo = check.helo;
  return {
    s: `${local}@${domain}`,
    l: local,
    o: domain,
    d: '',
    i: dotFormat(check.ip),
    p: 'unknown',
    v: check.ip.family === 4 ? 'in-addr' : 'ip6',
    h: helo,
    c: formatIp(check.ip),
    r: check.receiver,
    t: String(Math.floor(check.now() / 1000)),
  };
}

