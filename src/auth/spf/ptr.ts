/**
 * The "ptr" mechanism and the %{p} macro (RFC 7208 5.5, 7.3): the client's PTR names, looked up
 * once per check, forward-confirmed only when they could matter.
 */
import { classifyDnsAnswer } from './dns.js';
import { parseIpv4, parseIpv6, reverseName, sameIpv6Net } from './ip.js';
import { ask, note, traced, type Check, type Match, type Place } from './check.js';

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
  if (check.ptrNames !== undefined) {
    const known = check.ptrNames.length === 0 ? 'none' : check.ptrNames.join(', ');
    check.trace.push({ domain: place.domain, depth: place.depth, term: place.term, note: `PTR names known from the earlier lookup: ${known}` });
    return check.ptrNames;
  }
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
const scratch = new Uint32Array(4);

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
