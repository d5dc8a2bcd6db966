/**
 * The mechanisms that look addresses up (a, mx, exists; RFC 7208 5.3, 5.4, 5.7) and the
 * expansion of their targets (RFC 7208 7.3, with %{p} resolved first when used).
 */
import type { DnsAnswer } from '../../dns/types.js';
import { classifyDnsAnswer } from './dns.js';
import { inIpv4, parseIpv4, parseIpv6, sameIpv6Net } from './ip.js';
import { expandMacroString } from './macro.js';
import { queryableName, toTargetName } from './names.js';
import { validatedName } from './ptr.js';
import { ask, macroValues, traced, type Abort, type Check, type Match, type Place } from './check.js';
import type { MacroString, SpfMechanism } from './types.js';

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

function unqueryable(check: Check, name: string, place: Place): Match {
  const why = `"${name}" is not a valid DNS name (empty label, or a label over 63 octets), so it cannot exist: not queried, treated as NXDOMAIN (RFC 7208 4.3, 4.8)`;
  check.trace.push({ domain: place.domain, depth: place.depth, term: place.term, note: why });
  return 'void';
}

function tempError(what: string, answer: DnsAnswer<unknown>): Abort {
  const why = answer.kind === 'tempfail' ? answer.reason : answer.kind;
  return { result: 'temperror', detail: `${what} failed: ${why} (RFC 7208 5)` };
}
