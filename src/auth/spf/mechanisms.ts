/**
 * The DNS side of check_host(): the per-check state, the one place queries are asked (time
 * budget, trace), macro expansion of targets, and the mechanisms that look things up
 * (a, mx, ptr, exists; RFC 7208 5.3-5.7) with the %{p} macro (RFC 7208 7.3).
 */
import type { DnsAnswer, DnsResolver, RecordData, RecordType } from '../../dns/types.js';
import { classifyDnsAnswer, shortAnswer, type SpfLookupPurpose } from './dns.js';
import { dotFormat, formatIp, inIpv4, parseIpv4, parseIpv6, reverseName, sameIpv6Net, type SpfIp } from './ip.js';
import { expandMacroString, type MacroValues } from './macro.js';
import { queryableName, toTargetName } from './names.js';
import type { MacroString, SpfMechanism, SpfRecord, SpfTraceStep } from './types.js';

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
  // The clock is read every fourth query: each query is bounded by the resolver's own timeout,
  // and reading it costs as much as the rest of a cached lookup.
  if ((++check.queries & 3) === 0 && check.now() > check.deadline) {
    return Promise.resolve({ kind: 'tempfail', reason: `the check ran past its ${check.timeoutMs} ms budget (RFC 7208 4.6.4)` });
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

/**
 * Expands a domain-spec for <domain> into the name to query (RFC 7208 7.3). Synchronous unless
 * the spec uses %{p}, which needs the PTR lookups first.
 */
export function expandTarget(check: Check, spec: MacroString, domain: string, place: Place): string | Promise<string> {
  if (spec.constant !== undefined) return toTargetName(spec.constant);
  const expanded = expand(check, spec, domain, place);
  return typeof expanded === 'string' ? toTargetName(expanded) : expanded.then(toTargetName);
}

/** Expands any macro-string with d = <domain>; a promise only when %{p} must be looked up. */
export function expand(check: Check, spec: MacroString, domain: string, place: Place): string | Promise<string> {
  if (spec.constant !== undefined) return spec.constant;
  const values = (check.values ??= macroValues(check));
  values.d = domain;
  if (!spec.usesP) return expandMacroString(spec, values);
  return validatedName(check, domain, place).then((p) => {
    values.p = p;
    values.d = domain;
    return expandMacroString(spec, values);
  });
}

function macroValues(check: Check): MacroValues {
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

/** a and mx: does any address of `name` lie in the client's network of the term's CIDR length? */
function addressMatches(check: Check, records: readonly string[], mechanism: SpfMechanism & { kind: 'a' | 'mx' }): string | undefined {
  const ip = check.ip;
  if (ip.family === 4) {
    const mask = mechanism.mask4;
    const network = (ip.v4 & mask) >>> 0;
    for (const text of records) {
      const v4 = parseIpv4(text);
      if (v4 >= 0 && inIpv4(v4, network, mask)) return mechanism.cidr4 === 32 ? text : `${text}/${mechanism.cidr4}`;
    }
    return undefined;
  }
  for (const text of records) {
    if (parseIpv6(text, scratch) && sameIpv6Net(scratch, ip.v6, mechanism.mask6)) return mechanism.cidr6 === 128 ? text : `${text}/${mechanism.cidr6}`;
  }
  return undefined;
}
const scratch = new Uint32Array(4);

/** RFC 7208 5.3 "a": the addresses of the target (A for IPv4 clients, AAAA for IPv6). */
export async function matchA(check: Check, mechanism: SpfMechanism & { kind: 'a' | 'mx' }, name: string, place: Place): Promise<Match> {
  if (!queryableName(name)) return unqueryable(check, name, place);
  const type = check.ip.family === 4 ? 'A' : 'AAAA';
  const answer = traced(check, place, name, type, await ask(check, name, type));
  const verdict = classifyDnsAnswer(answer, 'term');
  if (verdict === 'temperror') return tempError(`${type} lookup for ${name}`, answer);
  if (verdict === 'empty' || answer.kind !== 'records') return 'void';
  const address = addressMatches(check, answer.records, mechanism);
  if (address === undefined) return 'no-match';
  check.matchDetail = `${name} has ${address}`;
  return 'match';
}

/** RFC 7208 5.4 "mx": the addresses of the target's MX hosts, at most maxMx of them. */
export async function matchMx(check: Check, mechanism: SpfMechanism & { kind: 'a' | 'mx' }, name: string, place: Place): Promise<Match> {
  if (!queryableName(name)) return unqueryable(check, name, place);
  const answer = traced(check, place, name, 'MX', await ask(check, name, 'MX'));
  const verdict = classifyDnsAnswer(answer, 'term');
  if (verdict === 'temperror') return tempError(`MX lookup for ${name}`, answer);
  if (verdict === 'empty' || answer.kind !== 'records') return 'void';
  if (answer.records.length > check.maxMx) {
    return {
      result: 'permerror',
      detail: `"${mechanism.text}" found ${answer.records.length} MX records for ${name}; at most ${check.maxMx} may be looked up (RFC 7208 4.6.4)`,
    };
  }
  const hosts = answer.records.length === 1 ? answer.records : [...answer.records].sort((x, y) => x.preference - y.preference);
  const type = check.ip.family === 4 ? 'A' : 'AAAA';
  let asked = 0;
  let found = 0;
  for (const mx of hosts) {
    // RFC 7505: "MX 0 ." (null MX) says the domain takes no mail; it has no address to match.
    if (mx.exchange === '') continue;
    asked++;
    const hostAnswer = traced(check, place, mx.exchange, type, await ask(check, mx.exchange, type));
    const hostVerdict = classifyDnsAnswer(hostAnswer, 'mx-host');
    if (hostVerdict === 'temperror') return tempError(`${type} lookup for MX host ${mx.exchange}`, hostAnswer);
    if (hostAnswer.kind !== 'records') continue;
    found++;
    const address = addressMatches(check, hostAnswer.records, mechanism);
    if (address !== undefined) {
      check.matchDetail = `MX host ${mx.exchange} has ${address}`;
      return 'match';
    }
  }
  // The term found nothing at all only if every host it asked about had no address.
  return asked > 0 && found === 0 ? 'void' : 'no-match';
}

/** RFC 7208 5.7 "exists": any A record at the target, whatever the client's address family. */
export async function matchExists(check: Check, name: string, place: Place): Promise<Match> {
  if (!queryableName(name)) return unqueryable(check, name, place);
  const answer = traced(check, place, name, 'A', await ask(check, name, 'A'));
  const verdict = classifyDnsAnswer(answer, 'term');
  if (verdict === 'temperror') return tempError(`A lookup for ${name}`, answer);
  if (verdict !== 'records') return 'void';
  check.matchDetail = `${name} exists`;
  return 'match';
}

/**
 * RFC 7208 5.5 "ptr": a validated PTR name of the client equal to, or under, the target. Only
 * names that would match are forward-confirmed, which saves the lookups of the others.
 */
export async function matchPtr(check: Check, target: string, place: Place): Promise<Match> {
  const names = await ptrNames(check, place);
  if (names.length === 0) return 'void';
  const lower = target.toLowerCase();
  const candidates = names.filter((n) => n === lower || n.endsWith(`.${lower}`));
  if (candidates.length === 0) {
    note(check, `no PTR name is ${lower} or under it`);
    return 'no-match';
  }
  let anyData = false;
  for (const name of candidates) {
    const valid = await validate(check, name, place);
    if (valid === true) {
      check.matchDetail = `${check.ipText} has the validated name ${name}`;
      return 'match';
    }
    if (valid !== null) anyData = true;
  }
  return anyData ? 'no-match' : 'void';
}

/** The client's PTR names, first maxPtr of them (RFC 7208 4.6.4), looked up once per check. */
async function ptrNames(check: Check, place: Place): Promise<string[]> {
  if (check.ptrNames !== undefined) return check.ptrNames;
  const reverse = reverseName(check.ip);
  const answer = traced(check, place, reverse, 'PTR', await ask(check, reverse, 'PTR'));
  // RFC 7208 5.5: "If a DNS error occurs while doing the PTR RR lookup, then this mechanism fails to match."
  const names = classifyDnsAnswer(answer, 'ptr') === 'records' && answer.kind === 'records' ? answer.records : [];
  if (names.length > check.maxPtr) note(check, `only the first ${check.maxPtr} names are used (RFC 7208 4.6.4)`);
  check.ptrNames = names.slice(0, check.maxPtr).map((n) => n.toLowerCase().replace(/\.$/, ''));
  return check.ptrNames;
}

/** Forward-confirms a PTR name: true if one of its addresses is the client's; null if it has none. */
async function validate(check: Check, name: string, place: Place): Promise<boolean | null> {
  const validated = (check.validated ??= new Map());
  const known = validated.get(name);
  if (known !== undefined) return known;
  const type = check.ip.family === 4 ? 'A' : 'AAAA';
  const answer = traced(check, place, name, type, await ask(check, name, type));
  // RFC 7208 5.5: a DNS error while validating skips the name.
  if (classifyDnsAnswer(answer, 'ptr-validate') !== 'records' || answer.kind !== 'records') {
    validated.set(name, null);
    return null;
  }
  const ip = check.ip;
  const valid = answer.records.some((text) =>
    ip.family === 4 ? parseIpv4(text) === ip.v4 : parseIpv6(text, scratch) && sameIpv6Net(scratch, ip.v6, FULL),
  );
  note(check, valid ? `${name} is validated` : `${name} does not point back to ${check.ipText}`);
  validated.set(name, valid);
  return valid;
}
const FULL = new Uint32Array([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);

/**
 * %{p} (RFC 7208 7.3): a validated name of the client, preferring <domain> itself, then a name
 * under it, then any; "unknown" if none validates.
 */
export async function validatedName(check: Check, domain: string, place: Place): Promise<string> {
  const names = await ptrNames(check, { ...place, term: '%{p}' });
  const d = domain.toLowerCase();
  const ranked = [...names.filter((n) => n === d), ...names.filter((n) => n.endsWith(`.${d}`)), ...names];
  for (const name of ranked) if ((await validate(check, name, { ...place, term: '%{p}' })) === true) return name;
  return 'unknown';
}

function unqueryable(check: Check, name: string, place: Place): Match {
  const why = `"${name}" is not a valid DNS name (empty label, or a label over 63 octets), so it cannot exist: not queried, treated as NXDOMAIN (RFC 7208 4.3, 4.8)`;
  check.trace.push({ domain: place.domain, depth: place.depth, term: place.term, note: why });
  return 'void';
}

function tempError(what: string, answer: DnsAnswer<unknown>): Abort {
  const why = answer.kind === 'tempfail' ? answer.reason : answer.kind;
  return { result: 'temperror', detail: `${what} failed: ${why} (RFC 7208 5)` };
}
