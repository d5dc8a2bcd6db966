/**
 * check_host() (RFC 7208 4-6): find the record, evaluate its terms left to right with the
 * lookup and void limits, follow include and redirect, and on "fail" fetch the explanation.
 * DNS only through the injected port; a DNS error gives temperror, never another result.
 */
import type { DnsResolver } from '../../dns/types.js';
import { classifyDnsAnswer } from './dns.js';
import { formatIp, inIpv6, parseClientIp } from './ip.js';
import { compileMacroString, queryableName, toTargetName } from './macro.js';
import {
  ask, expand, expandTarget, matchA, matchExists, matchMx, matchPtr, note, traced,
  type Abort, type Check, type Match, type Place,
} from './mechanisms.js';
import { parseSpfRecord, selectSpfRecord } from './parse.js';
import {
  SPF_DEFAULTS, type CheckHostInput, type CheckHostOptions, type MacroString, type SpfMechanism, type SpfParseResult,
  type SpfQualifier, type SpfRecord, type SpfResult, type SpfResultCode,
} from './types.js';

/** How one record's evaluation ended; `detail` is the reason without the framing. */
type Outcome =
  | { result: 'pass' | 'fail' | 'softfail' | 'neutral'; domain: string; record: SpfRecord; mechanism: string | undefined; detail: string }
  | { result: 'none'; domain: string; detail: string }
  | { result: 'permerror' | 'temperror'; domain: string; detail: string; mechanism?: string };

const QUALIFIED: Record<SpfQualifier, 'pass' | 'fail' | 'softfail' | 'neutral'> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };
/** A guard for configurations that raise maxLookups very high; the limits stop real records first. */
const MAX_DEPTH = 50;

/**
 * check_host(<ip>, <domain>, <sender>) of RFC 7208 4. Never throws for protocol outcomes; throws
 * a TypeError only when `ip` is not an IP address (a caller bug).
 */
export async function checkHost(input: CheckHostInput, resolver: DnsResolver, options: CheckHostOptions = {}): Promise<SpfResult> {
  const ip = parseClientIp(input.ip);
  if (ip === undefined) throw new TypeError(`checkHost: "${input.ip}" is not an IP address`);
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? SPF_DEFAULTS.timeoutMs;
  const at = input.sender.lastIndexOf('@');
  const local = at > 0 ? input.sender.slice(0, at) : 'postmaster'; // RFC 7208 4.3: no local-part → "postmaster"
  const check: Check = {
    resolver,
    ip,
    // A strictly parsed dotted quad is already in the form people write; others are formatted.
    ipText: ip.family === 4 && !input.ip.includes(':') ? input.ip : formatIp(ip),
    sender: { local, domain: at >= 0 ? input.sender.slice(at + 1) : input.sender, helo: input.helo },
    receiver: options.receiver ?? SPF_DEFAULTS.receiver,
    now,
    deadline: now() + timeoutMs,
    timeoutMs,
    maxLookups: options.maxLookups ?? SPF_DEFAULTS.maxLookups,
    maxVoids: options.maxVoidLookups ?? SPF_DEFAULTS.maxVoidLookups,
    maxMx: options.maxMxNames ?? SPF_DEFAULTS.maxMxNames,
    maxPtr: options.maxPtrNames ?? SPF_DEFAULTS.maxPtrNames,
    lookups: 0,
    voids: 0,
    trace: [],
    values: undefined,
    ptrNames: undefined,
    validated: undefined,
    matchDetail: undefined,
  };
  const domain = input.domain.endsWith('.') ? input.domain.slice(0, -1) : input.domain;
  const outcome = await evaluateDomain(check, domain, 0, false);
  const result = {
    result: outcome.result,
    domain,
    reason: reasonFor(check, domain, outcome),
    lookups: check.lookups,
    voidLookups: check.voids,
    trace: check.trace,
  } as SpfResult;
  if ('mechanism' in outcome && outcome.mechanism !== undefined) result.mechanism = outcome.mechanism;
  if (result.result === 'fail' && outcome.result === 'fail' && (options.explanation ?? SPF_DEFAULTS.explanation)) {
    const explanation = await explain(check, outcome.record, outcome.domain);
    if (explanation !== undefined) result.explanation = explanation;
  }
  return result;
}

/** Looks up and evaluates the record of `domain` (RFC 7208 4.3-4.5). */
async function evaluateDomain(check: Check, domain: string, depth: number, asTerm: boolean): Promise<Outcome> {
  const problem = domainProblem(domain);
  if (problem !== undefined) return { result: 'none', domain, detail: `"${domain}" is not a valid domain name: ${problem} (RFC 7208 4.3)` };
  const place: Place = { domain, depth, term: 'record' };
  const answer = traced(check, place, domain, 'TXT', await ask(check, domain, 'TXT'));
  const verdict = classifyDnsAnswer(answer, 'record');
  if (verdict === 'temperror') {
    const why = answer.kind === 'tempfail' ? answer.reason : answer.kind;
    return { result: 'temperror', domain, detail: `the TXT lookup for ${domain} failed: ${why} (RFC 7208 4.4)` };
  }
  if (answer.kind !== 'records') {
    if (asTerm) {
      const stop = countVoid(check, place);
      if (stop !== undefined) return { ...stop, domain };
    }
    return { result: 'none', domain, detail: `${domain} has no SPF record (TXT lookup: ${answer.kind === 'nxdomain' ? 'NXDOMAIN' : 'no TXT records'}) (RFC 7208 4.4)` };
  }
  const selected = selectSpfRecord(answer.records);
  if (selected.kind === 'none') {
    return { result: 'none', domain, detail: `${domain} has no SPF record: none of its ${answer.records.length} TXT record(s) starts with "v=spf1" (RFC 7208 4.5)` };
  }
  if (selected.kind === 'many') {
    note(check, 'permerror: more than one SPF record');
    return { result: 'permerror', domain, detail: `${domain} publishes ${selected.count} SPF records; there must be exactly one (RFC 7208 4.5)` };
  }
  const parsed = parseCached(selected.text);
  if (!parsed.ok) {
    note(check, `permerror: ${parsed.error.message}`);
    return { result: 'permerror', domain, mechanism: parsed.error.term, detail: `the SPF record of ${domain} is invalid at "${parsed.error.term}": ${parsed.error.message}` };
  }
  return await evaluateRecord(check, parsed.record, domain, depth);
}

/** Evaluates the terms of one record (RFC 7208 4.6, 4.7, 5, 6.1). */
async function evaluateRecord(check: Check, record: SpfRecord, domain: string, depth: number): Promise<Outcome> {
  if (depth > MAX_DEPTH) return { result: 'permerror', domain, detail: `includes nested more than ${MAX_DEPTH} deep` };
  const ip = check.ip;
  for (const mechanism of record.mechanisms) {
    let found: Match;
    // The terms that need no DNS are decided here, without a promise (RFC 7208 5.1, 5.6).
    switch (mechanism.kind) {
      case 'all':
        found = 'match';
        break;
      case 'ip4':
        found = ip.family === 4 && ((ip.v4 & mechanism.mask) >>> 0) === mechanism.network ? 'match' : 'no-match';
        break;
      case 'ip6': // RFC 7208 5: IPv4 (and IPv4-mapped) clients match ip4 only
        found = ip.family === 6 && inIpv6(ip.v6, mechanism.network, mechanism.mask) ? 'match' : 'no-match';
        break;
      default:
        found = await evaluateDnsMechanism(check, mechanism, domain, { domain, depth, term: mechanism.text });
    }
    if (found === 'no-match') continue;
    if (found === 'match') {
      const result = QUALIFIED[mechanism.qualifier];
      const inner = check.matchDetail;
      check.matchDetail = undefined;
      const detail = inner === undefined ? `${mechanism.text} matched` : `${mechanism.text} matched (${inner})`;
      if (mechanism.kind === 'all' || mechanism.kind === 'ip4' || mechanism.kind === 'ip6') {
        check.trace.push({ domain, depth, term: mechanism.text, note: `match: ${result}` });
      }
      return { result, domain, record, mechanism: mechanism.text, detail };
    }
    if (typeof found === 'object') {
      check.trace.push({ domain, depth, term: mechanism.text, note: found.result });
      return { result: found.result, detail: found.detail, domain, mechanism: mechanism.text };
    }
  }
  // RFC 7208 6.1: redirect applies when nothing matched, and never when "all" is present.
  if (record.redirect !== undefined && !record.hasAll) {
    const place: Place = { domain, depth, term: `redirect=${record.redirect.source}` };
    const limit = countLookup(check, place);
    if (limit !== undefined) return { ...limit, domain, mechanism: place.term };
    const expanded = expandTarget(check, record.redirect, domain, place);
    const target = typeof expanded === 'string' ? expanded : await expanded;
    const outcome = await evaluateDomain(check, target, depth, true);
    if (outcome.result === 'none') {
      return { result: 'permerror', domain, mechanism: place.term, detail: `${place.term} leads nowhere: ${outcome.detail}; a redirect to a domain without an SPF record is a permerror (RFC 7208 6.1)` };
    }
    return { ...outcome, detail: `${place.term} → ${outcome.detail}` };
  }
  check.trace.push({ domain, depth, term: 'end of record', note: 'nothing matched, no redirect=: neutral (RFC 7208 4.7)' });
  return { result: 'neutral', domain, record, mechanism: undefined, detail: 'no mechanism matched and there is no redirect=, so the result is the default, neutral (RFC 7208 4.7)' };
}

/** The terms that look things up: include, a, mx, ptr, exists (RFC 7208 5.2-5.5, 5.7). */
async function evaluateDnsMechanism(
  check: Check,
  mechanism: Exclude<SpfMechanism, { kind: 'all' | 'ip4' | 'ip6' }>,
  domain: string,
  place: Place,
): Promise<Match> {
  if (mechanism.kind === 'include') return await evaluateInclude(check, mechanism.domain, domain, place);
  const limit = countLookup(check, place);
  if (limit !== undefined) return limit;
  const spec = mechanism.domain;
  const expanded = spec === undefined ? domain : expandTarget(check, spec, domain, place);
  const target = typeof expanded === 'string' ? expanded : await expanded;
  const found =
    mechanism.kind === 'a' || mechanism.kind === 'mx'
      ? await (mechanism.kind === 'a' ? matchA : matchMx)(check, mechanism, target, place)
      : mechanism.kind === 'ptr'
        ? await matchPtr(check, target, place)
        : await matchExists(check, target, place);
  if (found !== 'void') {
    if (typeof found === 'string') note(check, found === 'match' ? 'match' : 'no match');
    return found;
  }
  return countVoid(check, place) ?? 'no-match';
}

/** RFC 7208 5.2: include matches on pass; fail, softfail and neutral do not; errors and none stop. */
async function evaluateInclude(check: Check, spec: MacroString, domain: string, place: Place): Promise<Match> {
  const limit = countLookup(check, place);
  if (limit !== undefined) return limit;
  const expanded = expandTarget(check, spec, domain, place);
  const target = typeof expanded === 'string' ? expanded : await expanded;
  const outcome = await evaluateDomain(check, target, place.depth + 1, true);
  const matched = outcome.result === 'pass';
  check.trace.push({ domain, depth: place.depth, term: place.term, note: `${target} returned ${outcome.result}: ${matched ? 'match' : outcome.result === 'fail' || outcome.result === 'softfail' || outcome.result === 'neutral' ? 'no match' : 'stop'}` });
  switch (outcome.result) {
    case 'pass':
      check.matchDetail = `${outcome.detail} in ${outcome.domain}`;
      return 'match';
    case 'fail':
    case 'softfail':
    case 'neutral':
      return 'no-match';
    case 'temperror':
    case 'permerror':
      return { result: outcome.result, detail: `${place.term} → ${outcome.detail}` };
    case 'none':
      return { result: 'permerror', detail: `${place.term} found no SPF record: ${outcome.detail}; include of a domain without SPF is a permerror (RFC 7208 5.2)` };
  }
}

/** Counts a DNS-querying term against the limit of 10 (RFC 7208 4.6.4). */
function countLookup(check: Check, place: Place): Abort | undefined {
  check.lookups++;
  if (check.lookups <= check.maxLookups) return undefined;
  return {
    result: 'permerror',
    detail: `too many DNS lookups: "${place.term}" in ${place.domain} is DNS-querying term number ${check.lookups}; ` +
      `at most ${check.maxLookups} of include, a, mx, ptr, exists and redirect may be evaluated (RFC 7208 4.6.4)`,
  };
}

/** Counts a term that found nothing against the void lookup limit (RFC 7208 4.6.4). */
function countVoid(check: Check, place: Place): Abort | undefined {
  check.voids++;
  note(check, `void lookup ${check.voids}/${check.maxVoids}`);
  if (check.voids <= check.maxVoids) return undefined;
  return {
    result: 'permerror',
    detail: `too many void lookups: "${place.term}" in ${place.domain} is the term number ${check.voids} whose lookup found ` +
      `no records (NXDOMAIN or NODATA); at most ${check.maxVoids} are allowed (RFC 7208 4.6.4)`,
  };
}

/**
 * RFC 7208 6.2: the explanation of the record that produced "fail". Any problem (no name, DNS
 * error, not exactly one TXT record, bad syntax, non-ASCII text) means no explanation.
 */
async function explain(check: Check, record: SpfRecord, domain: string): Promise<string | undefined> {
  if (record.exp === undefined) return undefined;
  const place: Place = { domain, depth: 0, term: `exp=${record.exp.source}` };
  const name = toTargetName(await expand(check, record.exp, domain, place));
  if (!queryableName(name)) return undefined;
  const answer = traced(check, place, name, 'TXT', await ask(check, name, 'TXT'));
  if (classifyDnsAnswer(answer, 'exp') !== 'records' || answer.kind !== 'records') return ignored(check, 'no TXT record');
  if (answer.records.length !== 1) return ignored(check, `${answer.records.length} TXT records, not exactly one`);
  const compiled = compiledExplanation(answer.records[0]!);
  if (!compiled.ok) return ignored(check, compiled.message);
  return expand(check, compiled.macro, domain, place);
}

/** Compiled explanation texts by text, like parsed records. */
const explanations = new Map<string, ReturnType<typeof compileMacroString>>();

function compiledExplanation(text: string): ReturnType<typeof compileMacroString> {
  let compiled = explanations.get(text);
  if (compiled === undefined) {
    compiled = compileMacroString(text, 'explanation');
    if (explanations.size >= PARSE_CACHE_SIZE) explanations.clear();
    explanations.set(text, compiled);
  }
  return compiled;
}

function ignored(check: Check, why: string): undefined {
  note(check, `explanation ignored: ${why} (RFC 7208 6.2)`);
  return undefined;
}

/** RFC 7208 4.3: why <domain> is not a usable domain name, or undefined if it is. */
export function domainProblem(domain: string): string | undefined {
  if (domain === '') return 'it is empty';
  if (domain.charCodeAt(0) === 91) return 'it is an address literal, not a domain';
  for (let i = 0; i < domain.length; i++) {
    const c = domain.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return 'it contains a space or control character';
  }
  if (!queryableName(domain)) return 'it has an empty label, a label over 63 octets, or is over 253 characters';
  if (!domain.includes('.')) return 'it is not a multi-label domain name';
  return undefined;
}

/** Parsed records by text: parsing is pure, so each distinct record is parsed once. */
const parsedRecords = new Map<string, SpfParseResult>();
const PARSE_CACHE_SIZE = 2048;

function parseCached(text: string): SpfParseResult {
  let parsed = parsedRecords.get(text);
  if (parsed === undefined) {
    parsed = parseSpfRecord(text);
    if (parsedRecords.size >= PARSE_CACHE_SIZE) parsedRecords.clear();
    parsedRecords.set(text, parsed);
  }
  return parsed;
}

/** The reason in words (RFC 7208 2.6 meanings). */
function reasonFor(check: Check, domain: string, outcome: Outcome): string {
  const ip = check.ipText;
  const code: SpfResultCode = outcome.result;
  switch (code) {
    case 'pass':
      return `${ip} is permitted by ${domain}: ${outcome.detail}`;
    case 'fail':
      return `${ip} is not permitted by ${domain}: ${outcome.detail}`;
    case 'softfail':
      return `${ip} is probably not permitted by ${domain} (softfail, "~"): ${outcome.detail}`;
    case 'neutral':
      return `${domain} makes no assertion about ${ip} (neutral): ${outcome.detail}`;
    case 'none':
      return `no SPF policy to check: ${outcome.detail}`;
    case 'permerror':
      return `the SPF policy of ${domain} cannot be applied (permerror): ${outcome.detail}`;
    case 'temperror':
      return `the SPF check of ${domain} could not finish (temperror), try again later: ${outcome.detail}`;
  }
}
