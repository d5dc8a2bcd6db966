/**
 * check_host() (RFC 7208 4-6): find the record, evaluate its terms left to right with the
 * lookup and void limits, follow include and redirect, and on "fail" fetch the explanation.
 * DNS only through the injected port; a DNS error gives temperror, never another result.
 *
 * Hot path: records are parsed once per distinct text (cached), terms that need no DNS are
 * decided without a promise, and each DNS term costs one async frame plus the resolver's.
 */
import type { DnsAnswer, DnsResolver } from '../../dns/types.js';
import { classifyDnsAnswer } from './dns.js';
import { explain, reasonFor } from './explain.js';
import { formatIp, inIpv6, parseClientIp } from './ip.js';
import { ask, note, traced, type Abort, type Check, type Match, type Outcome, type Place } from './check.js';
import { expandTarget, matchA, matchExists, matchMx } from './mechanisms.js';
import { matchPtr } from './ptr.js';
import { domainProblem } from './names.js';
import { parseSpfRecord, selectSpfRecord } from './parse.js';
import {
  SPF_DEFAULTS, type CheckHostInput, type CheckHostOptions, type MacroString, type SpfMechanism,
  type SpfIdentity, type SpfParseResult, type SpfRecord, type SpfResult,
} from './types.js';

/** A guard for configurations that raise maxLookups very high; the limits stop real records first. */
const MAX_DEPTH = 50;

/**
 * check_host(<ip>, <domain>, <sender>) of RFC 7208 4. Never throws for protocol outcomes; throws
 * a TypeError only when `ip` is not an IP address (a caller bug).
 */
export function checkHost(input: CheckHostInput, resolver: DnsResolver, options: CheckHostOptions = {}): Promise<SpfResult> {
  return runCheckHost(input, resolver, options, undefined);
}

/** Facts verifySpf() adds to the result; set when the result object is made, so it is made once. */
export interface IdentityFields {
  identity: SpfIdentity;
  sender: string;
}

/** check_host() with the identity fields of verifySpf() (its only other caller). */
export function runCheckHost<E extends IdentityFields | undefined>(
  input: CheckHostInput,
  resolver: DnsResolver,
  options: CheckHostOptions,
  extra: E,
): Promise<E extends IdentityFields ? SpfResult & IdentityFields : SpfResult> {
  type Out = E extends IdentityFields ? SpfResult & IdentityFields : SpfResult;
  const ip = parseClientIp(input.ip);
  if (ip === undefined) return Promise.reject(new TypeError(`checkHost: "${input.ip}" is not an IP address`));
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? SPF_DEFAULTS.timeoutMs;
  const check: Check = {
    resolver,
    ip,
    // A strictly parsed dotted quad is already in the form people write; others are formatted.
    ipText: ip.family === 4 && !input.ip.includes(':') ? input.ip : formatIp(ip),
    sender: input.sender,
    helo: input.helo,
    receiver: options.receiver ?? SPF_DEFAULTS.receiver,
    now,
    deadline: 0,
    timeoutMs,
    maxLookups: options.maxLookups ?? SPF_DEFAULTS.maxLookups,
    maxVoids: options.maxVoidLookups ?? SPF_DEFAULTS.maxVoidLookups,
    maxMx: options.maxMxNames ?? SPF_DEFAULTS.maxMxNames,
    maxPtr: options.maxPtrNames ?? SPF_DEFAULTS.maxPtrNames,
    lookups: 0,
    voids: 0,
    queries: 0,
    trace: [],
    values: undefined,
    ptrNames: undefined,
    validated: undefined,
    matchDetail: undefined,
  };
  const domain = input.domain.endsWith('.') ? input.domain.slice(0, -1) : input.domain;
  // Plain promise chaining rather than an async frame: one frame less on every lookup's stack.
  return evaluateDomain(check, domain, 0, false).then((outcome) => finish(check, domain, outcome, options, extra) as Out | Promise<Out>);
}

/** The result from the outcome; on "fail", with the explanation (RFC 7208 6.2). */
function finish(check: Check, domain: string, outcome: Outcome, options: CheckHostOptions, extra: IdentityFields | undefined): SpfResult | Promise<SpfResult> {
  const reason = reasonFor(check, domain, outcome);
  const { lookups, voids: voidLookups, trace } = check;
  const result = (extra === undefined
    ? { result: outcome.result, domain, reason, lookups, voidLookups, trace }
    : { result: outcome.result, domain, reason, lookups, voidLookups, trace, identity: extra.identity, sender: extra.sender }) as SpfResult;
  if (outcome.mechanism !== undefined) result.mechanism = outcome.mechanism;
  if (result.result !== 'fail' || outcome.result !== 'fail' || outcome.record.exp === undefined || !(options.explanation ?? SPF_DEFAULTS.explanation)) {
    return result;
  }
  return explain(check, outcome.record, outcome.domain).then((explanation) => {
    if (explanation !== undefined && result.result === 'fail') result.explanation = explanation;
    return result;
  });
}

/**
 * Looks up the record of `domain` (RFC 7208 4.3-4.5) and evaluates its terms (4.6, 4.7, 5, 6.1).
 * `asTerm`: the lookup is made for include or redirect, so an empty answer is a void lookup.
 */
async function evaluateDomain(check: Check, domain: string, depth: number, asTerm: boolean): Promise<Outcome> {
  const problem = domainProblem(domain);
  if (problem !== undefined) return { result: 'none', domain, detail: `"${domain}" is not a valid domain name: ${problem} (RFC 7208 4.3)` };
  if (depth > MAX_DEPTH) return { result: 'permerror', domain, detail: `includes nested more than ${MAX_DEPTH} deep` };
  const place: Place = { domain, depth, term: 'record' };
  const found = findRecord(check, traced(check, place, domain, 'TXT', await ask(check, domain, 'TXT')), place, asTerm);
  if (!('mechanisms' in found)) return found;
  const record: SpfRecord = found;
  const ip = check.ip;
  for (const mechanism of record.mechanisms) {
    let match: Match;
    // Terms that need no DNS are decided here, without a promise (RFC 7208 5.1, 5.6).
    switch (mechanism.kind) {
      case 'all':
        match = 'match';
        break;
      case 'ip4':
        match = ip.family === 4 && ((ip.v4 & mechanism.mask) >>> 0) === mechanism.network ? 'match' : 'no-match';
        break;
      case 'ip6': // RFC 7208 5: IPv4 (and IPv4-mapped) clients match ip4 only
        match = ip.family === 6 && inIpv6(ip.v6, mechanism.network, mechanism.mask) ? 'match' : 'no-match';
        break;
      default: {
        const termPlace: Place = { domain, depth, term: mechanism.text };
        const pending = dnsMechanism(check, mechanism, domain, termPlace);
        match = typeof pending === 'object' && 'then' in pending ? await pending : pending;
        if (match === 'void') match = countVoid(check, termPlace) ?? 'no-match';
        else if (typeof match === 'string' && mechanism.kind !== 'include') note(check, match === 'match' ? 'match' : 'no match');
      }
    }
    if (match === 'no-match') continue;
    if (match === 'match') {
      const result = mechanism.result;
      const inner = check.matchDetail;
      check.matchDetail = undefined;
      if (mechanism.kind === 'all' || mechanism.kind === 'ip4' || mechanism.kind === 'ip6') {
        check.trace.push({ domain, depth, term: mechanism.text, note: `match: ${result}` });
      }
      const detail = inner === undefined ? `${mechanism.text} matched` : `${mechanism.text} matched (${inner})`;
      return { result, domain, record, mechanism: mechanism.text, detail };
    }
    const last = check.trace[check.trace.length - 1];
    if (last !== undefined && last.term === mechanism.text && last.domain === domain && last.query !== undefined) note(check, match.result);
    else check.trace.push({ domain, depth, term: mechanism.text, note: match.result });
    return { result: match.result, detail: match.detail, domain, mechanism: mechanism.text };
  }
  // RFC 7208 6.1: redirect applies when nothing matched, and never when "all" is present.
  if (record.redirect !== undefined && !record.hasAll) return await redirect(check, record.redirect, domain, depth);
  check.trace.push({ domain, depth, term: 'end of record', note: 'nothing matched, no redirect=: neutral (RFC 7208 4.7)' });
  return { result: 'neutral', domain, record, mechanism: undefined, detail: 'no mechanism matched and there is no redirect=, so the result is the default, neutral (RFC 7208 4.7)' };
}

/** RFC 7208 4.4, 4.5: the one v=spf1 record among the TXT answer, parsed; or how the lookup ended. */
function findRecord(check: Check, answer: DnsAnswer<string>, place: Place, asTerm: boolean): SpfRecord | Outcome {
  const domain = place.domain;
  const verdict = classifyDnsAnswer(answer, 'record');
  if (verdict === 'temperror') {
    const why = answer.kind === 'tempfail' ? answer.reason : answer.kind;
    return { result: 'temperror', domain, detail: `the TXT lookup for ${domain} failed: ${why} (RFC 7208 4.4)` };
  }
  if (answer.kind !== 'records') {
    const stop = asTerm ? countVoid(check, place) : undefined;
    if (stop !== undefined) return { ...stop, domain };
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
  if (parsed.ok) return parsed.record;
  note(check, `permerror: ${parsed.error.message}`);
  return { result: 'permerror', domain, mechanism: parsed.error.term, detail: `the SPF record of ${domain} is invalid at "${parsed.error.term}": ${parsed.error.message}` };
}

/**
 * The terms that look things up: include, a, mx, ptr, exists (RFC 7208 5.2-5.5, 5.7). Returns
 * the matcher's promise itself (no async frame of its own) unless it stops before any lookup.
 */
function dnsMechanism(
  check: Check,
  mechanism: Exclude<SpfMechanism, { kind: 'all' | 'ip4' | 'ip6' }>,
  domain: string,
  place: Place,
  expanded?: string,
): Match | Promise<Match> {
  let target = expanded;
  if (target === undefined) {
    const limit = countLookup(check, place);
    if (limit !== undefined) return limit;
    const spec = mechanism.domain;
    const pending = spec === undefined ? domain : expandTarget(check, spec, domain, place);
    if (typeof pending !== 'string') return pending.then((name) => dnsMechanism(check, mechanism, domain, place, name));
    target = pending;
  }
  switch (mechanism.kind) {
    case 'include':
      return include(check, target, domain, place);
    case 'a':
      return matchA(check, mechanism, target, place);
    case 'mx':
      return matchMx(check, mechanism, target, place);
    case 'ptr':
      return matchPtr(check, target, place);
    case 'exists':
      return matchExists(check, target, place);
  }
}

/** RFC 7208 5.2: include matches on pass; fail, softfail and neutral do not; errors and none stop. */
async function include(check: Check, target: string, domain: string, place: Place): Promise<Match> {
  const outcome = await evaluateDomain(check, target, place.depth + 1, true);
  const verdict = outcome.result === 'pass' ? 'match' : outcome.result === 'fail' || outcome.result === 'softfail' || outcome.result === 'neutral' ? 'no match' : 'stop';
  check.trace.push({ domain, depth: place.depth, term: place.term, note: `${target} returned ${outcome.result}: ${verdict}` });
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

/** RFC 7208 6.1: the result of the target's record is the result; a target without one is permerror. */
async function redirect(check: Check, spec: MacroString, domain: string, depth: number): Promise<Outcome> {
  const place: Place = { domain, depth, term: `redirect=${spec.source}` };
  const limit = countLookup(check, place);
  if (limit !== undefined) return { ...limit, domain, mechanism: place.term };
  const expanded = expandTarget(check, spec, domain, place);
  const target = typeof expanded === 'string' ? expanded : await expanded;
  const outcome = await evaluateDomain(check, target, depth, true);
  if (outcome.result === 'none') {
    return { result: 'permerror', domain, mechanism: place.term, detail: `${place.term} leads nowhere: ${outcome.detail}; a redirect to a domain without an SPF record is a permerror (RFC 7208 6.1)` };
  }
  return { ...outcome, detail: `${place.term} → ${outcome.detail}` };
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

/** Counts a term whose lookups found nothing against the void lookup limit (RFC 7208 4.6.4). */
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
