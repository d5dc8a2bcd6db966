/**
 * SPF record selection and parsing (RFC 7208 4.5, 4.6, 5, 6, 12). Pure: text in, a parsed record
 * or the first syntax error out. The whole record is checked before anything is evaluated
 * (RFC 7208 4.6: "If there are any syntax errors anywhere in the record, check_host() returns
 * immediately with the result permerror").
 */
import { describeChar, compileMacroString, type MacroContext } from './macro.js';
import { ipv4Mask, ipv6Mask, parseIpv4, parseIpv6 } from './ip.js';
import type { MacroString, SpfMatchResult, SpfMechanism, SpfParseError, SpfParseErrorCode, SpfParseResult, SpfQualifier, SpfRecord } from './types.js';

/** The outcome of picking the SPF record among a name's TXT records (RFC 7208 4.5). */
export type SpfSelection = { kind: 'none' } | { kind: 'one'; text: string } | { kind: 'many'; count: number };

/** RFC 7208 4.5: version = "v=spf1", case-insensitive, followed by a space or the end. */
export function isSpfRecord(text: string): boolean {
  if (text.length < 6) return false;
  if (text.length > 6 && text.charCodeAt(6) !== 32) return false;
  const c0 = text.charCodeAt(0) | 0x20;
  return c0 === 0x76 && text[1] === '=' && (text.charCodeAt(2) | 0x20) === 0x73 &&
    (text.charCodeAt(3) | 0x20) === 0x70 && (text.charCodeAt(4) | 0x20) === 0x66 && text[5] === '1';
}

/** RFC 7208 4.5: discard records that are not "v=spf1"; none left is "none", more than one is permerror. */
export function selectSpfRecord(txts: readonly string[]): SpfSelection {
  let found: string | undefined;
  let count = 0;
  for (const text of txts) {
    if (!isSpfRecord(text)) continue;
    found = text;
    count++;
  }
  if (count === 0 || found === undefined) return { kind: 'none' };
  return count === 1 ? { kind: 'one', text: found } : { kind: 'many', count };
}

const MECHANISMS = ['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists'];

/** Parses one SPF record. */
export function parseSpfRecord(text: string): SpfParseResult {
  if (!isSpfRecord(text)) {
    return fail('not-spf', text.slice(0, 20), `the record does not start with "v=spf1" followed by a space or its end (RFC 7208 4.5)`);
  }
  for (let i = 6; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue;
    const term = text.slice(text.lastIndexOf(' ', i) + 1, i + 1);
    const hint = c < 0x20 ? '; terms are separated by spaces only (RFC 7208 4.6.1)' : ' (RFC 7208 3.1, 12: records are US-ASCII)';
    return fail('invalid-character', term, `character ${describeChar(c)} at position ${i + 1} is not allowed${hint}`);
  }
  const record: SpfRecord = { text, mechanisms: [], redirect: undefined, exp: undefined, hasAll: false, unknownModifiers: [] };
  for (const term of text.slice(6).split(' ')) {
    if (term === '') continue; // RFC 7208 4.6.1: terms are separated by one or more spaces
    const error = parseTerm(term, record);
    if (error !== undefined) return { ok: false, error };
  }
  return { ok: true, record };
}

function parseTerm(term: string, record: SpfRecord): SpfParseError | undefined {
  // RFC 7208 4.6.1: a modifier is name "=" with the "=" right after the name, before any ":" or "/".
  const nameEnd = scanName(term);
  if (nameEnd > 0 && term.charCodeAt(nameEnd) === 61) return parseModifier(term, term.slice(0, nameEnd), term.slice(nameEnd + 1), record);
  const mechanism = parseMechanism(term);
  if ('code' in mechanism) return mechanism;
  record.mechanisms.push(mechanism);
  if (mechanism.kind === 'all') record.hasAll = true;
  return undefined;
}

/** name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ); returns its end, 0 if none. */
function scanName(term: string): number {
  const first = term.charCodeAt(0) | 0x20;
  if (first < 0x61 || first > 0x7a) return 0;
  let i = 1;
  for (; i < term.length; i++) {
    const c = term.charCodeAt(i);
    const alpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
    if (!(alpha || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46)) break;
  }
  return i;
}

function parseModifier(term: string, rawName: string, value: string, record: SpfRecord): SpfParseError | undefined {
  const name = rawName.toLowerCase();
  if (name === 'redirect' || name === 'exp') {
    if (record[name] !== undefined) {
      return error('duplicate-modifier', term, `"${name}=" appears more than once; it may appear at most once (RFC 7208 6)`);
    }
    if (value === '') return error('missing-argument', term, `"${name}=" needs a domain (RFC 7208 ${name === 'exp' ? '6.2' : '6.1'})`);
    const spec = parseDomainSpec(value, term);
    if ('code' in spec) return spec;
    record[name] = spec;
    return undefined;
  }
  // RFC 7208 6: unknown modifiers are ignored, but their value must still be a valid macro-string.
  const compiled = compileMacroString(value, 'modifier');
  if (!compiled.ok) return error('bad-macro', term, `${compiled.message} in unknown modifier "${rawName}"`);
  record.unknownModifiers.push({ name: rawName, value });
  return undefined;
}

function parseMechanism(term: string): SpfMechanism | SpfParseError {
  let qualifier: SpfQualifier = '+';
  let start = 0;
  const q = term[0];
  if (q === '+' || q === '-' || q === '~' || q === '?') {
    qualifier = q;
    start = 1;
  }
  let end = start;
  while (end < term.length && term[end] !== ':' && term[end] !== '/') end++;
  const name = term.slice(start, end).toLowerCase();
  const rest = term.slice(end);
  const base: Base = { qualifier, result: QUALIFIED[qualifier], text: term };
  switch (name) {
    case 'all':
      if (rest !== '') return error('unexpected-argument', term, `"all" takes no argument, found "${rest}" (RFC 7208 5.1)`);
      return build(base, { kind: 'all' });
    case 'include':
    case 'exists': {
      const domain = requiredDomain(name, rest, term);
      return 'code' in domain ? domain : build(base, { kind: name, domain });
    }
    case 'ptr': {
      if (rest === '') return build(base, { kind: 'ptr' });
      const domain = requiredDomain(name, rest, term);
      return 'code' in domain ? domain : build(base, { kind: 'ptr', domain });
    }
    case 'a':
    case 'mx':
      return parseAddressMechanism(name, rest, base);
    case 'ip4':
    case 'ip6':
      return parseIpMechanism(name, rest, base);
    default:
      return unknownMechanism(name, term);
  }
}

function unknownMechanism(name: string, term: string): SpfParseError {
  let hint = `; the mechanisms are ${MECHANISMS.join(' ')} (RFC 7208 4.6.1, 5)`;
  if (name === 'redirect' || name === 'exp') hint = `; "${name}" is a modifier: write "${name}=domain" (RFC 7208 6)`;
  else if (parseIpv4(name) >= 0) hint = `; an address needs the ip4 mechanism: "ip4:${name}" (RFC 7208 5.6)`;
  else if (term.includes('=')) hint = `; a modifier name starts with a letter and is followed directly by "=" (RFC 7208 4.6.1)`;
  return error('unknown-mechanism', term, `unknown mechanism "${name || term}"${hint}`);
}

/** include, exists and ptr: ":" domain-spec, and no CIDR length. */
function requiredDomain(name: string, rest: string, term: string): MacroString | SpfParseError {
  if (rest === '' || rest === ':') return error('missing-argument', term, `"${name}" needs a domain: "${name}:example.com" (RFC 7208 5)`);
  if (rest[0] !== ':') return error('unexpected-argument', term, `"${name}" takes no CIDR length (RFC 7208 5)`);
  const value = rest.slice(1);
  const spec = parseDomainSpec(value, term);
  if ('code' in spec && /\/\d+$/.test(value) && !('code' in parseDomainSpec(value.replace(/\/\d+$/, ''), term))) {
    return error('unexpected-argument', term, `"${name}" takes no CIDR length (RFC 7208 5)`);
  }
  return spec;
}

type Base = { qualifier: SpfQualifier; result: SpfMatchResult; text: string };

/** The kind-specific fields of a mechanism, all optional here. */
interface Fields {
  kind: SpfMechanism['kind'];
  domain?: MacroString | undefined;
  cidr4?: number;
  cidr6?: number;
  mask4?: number;
  mask6?: Uint32Array;
  network?: number | Uint32Array;
  cidr?: number;
  mask?: number | Uint32Array;
}

/**
 * Makes every mechanism with the same fields in the same order, whatever its kind: the
 * evaluator reads `kind`, `mask`… of all of them at one place, and one object shape keeps those
 * reads monomorphic (measured: a mixed shape made the mechanism loop a hot spot).
 */
function build(base: Base, f: Fields): SpfMechanism {
  return {
    kind: f.kind,
    qualifier: base.qualifier,
    result: base.result,
    text: base.text,
    domain: f.domain,
    cidr4: f.cidr4 ?? 0,
    cidr6: f.cidr6 ?? 0,
    mask4: f.mask4 ?? 0,
    mask6: f.mask6 ?? NO_MASK,
    network: f.network ?? 0,
    cidr: f.cidr ?? 0,
    mask: f.mask ?? 0,
  } as SpfMechanism;
}
const NO_MASK = new Uint32Array(4);

/** RFC 7208 4.6.2: what a match gives, by qualifier. */
const QUALIFIED: Record<SpfQualifier, SpfMatchResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };

/** a / mx: [ ":" domain-spec ] [ dual-cidr-length ] (RFC 7208 5.3, 5.4). */
function parseAddressMechanism(kind: 'a' | 'mx', rest: string, base: Base): SpfMechanism | SpfParseError {
  const term = base.text;
  let body = rest;
  let cidr4 = 32;
  let cidr6 = 128;
  let slash = trailingCidr(body);
  if (slash >= 0 && slash > 0 && body[slash - 1] === '/') {
    const length = cidrLength(body.slice(slash + 1), 128, term);
    if (typeof length !== 'number') return length;
    cidr6 = length;
    body = body.slice(0, slash - 1);
    slash = trailingCidr(body);
  }
  if (slash >= 0) {
    if (trailingCidr(body.slice(0, slash)) >= 0) {
      return error('bad-cidr', term, `bad dual CIDR length "${rest}": write "/24" for IPv4, "//64" for IPv6, or "/24//64" (RFC 7208 5.6)`);
    }
    const length = cidrLength(body.slice(slash + 1), 32, term);
    if (typeof length !== 'number') return length;
    cidr4 = length;
    body = body.slice(0, slash);
  }
  let domain: MacroString | undefined;
  if (body !== '') {
    if (body[0] !== ':') {
      return error('bad-cidr', term, `bad CIDR length "${rest}": write "/24" for IPv4, "//64" for IPv6, or "/24//64" (RFC 7208 5.6)`);
    }
    if (body === ':') return error('missing-argument', term, `"${kind}:" needs a domain after the colon (RFC 7208 5)`);
    const spec = parseDomainSpec(body.slice(1), term);
    if ('code' in spec) return spec;
    domain = spec;
  }
  return build(base, { kind, domain, cidr4, cidr6, mask4: ipv4Mask(cidr4), mask6: ipv6Mask(cidr6) });
}

/** ip4 / ip6: ":" network [ cidr-length ] (RFC 7208 5.6). */
function parseIpMechanism(kind: 'ip4' | 'ip6', rest: string, base: Base): SpfMechanism | SpfParseError {
  const term = base.text;
  if (rest.length < 2 || rest[0] !== ':') return error('missing-argument', term, `"${kind}" needs an address: "${kind}:${kind === 'ip4' ? '192.0.2.0/24' : '2001:db8::/32'}" (RFC 7208 5.6)`);
  let address = rest.slice(1);
  const max = kind === 'ip4' ? 32 : 128;
  let cidr = max;
  const slash = trailingCidr(address);
  const lastSlash = address.lastIndexOf('/');
  if (slash >= 0 && slash > 0 && address[slash - 1] === '/') {
    return error('bad-cidr', term, `"${kind}" takes one CIDR length ("/n"), not a dual one ("//n") (RFC 7208 5.6)`);
  }
  if (slash >= 0) {
    const length = cidrLength(address.slice(slash + 1), max, term);
    if (typeof length !== 'number') return length;
    cidr = length;
    address = address.slice(0, slash);
  } else if (lastSlash >= 0) {
    return error('bad-cidr', term, `bad CIDR length "${address.slice(lastSlash)}" (RFC 7208 5.6)`);
  }
  if (kind === 'ip4') {
    const v4 = parseIpv4(address);
    if (v4 < 0) return error('bad-ip4', term, `"${address}" is not an IPv4 address${ip4Hint(address)} (RFC 7208 5.6)`);
    const mask = ipv4Mask(cidr);
    return build(base, { kind, network: (v4 & mask) >>> 0, cidr, mask });
  }
  const network = new Uint32Array(4);
  if (!parseIpv6(address, network)) return error('bad-ip6', term, `"${address}" is not an IPv6 address (RFC 7208 5.6, RFC 4291 2.2)`);
  const mask = ipv6Mask(cidr);
  for (let w = 0; w < 4; w++) network[w] = (network[w]! & mask[w]!) >>> 0;
  return build(base, { kind, network, cidr, mask });
}

function ip4Hint(address: string): string {
  if (/^\d+(\.\d+){0,2}$/.test(address)) return ': all four octets are needed; use a CIDR length for a network ("/24")';
  if (/^[\d.]+:\d+$/.test(address)) return ': a port does not belong in SPF';
  if (/(^|\.)0\d/.test(address)) return ': octets are written without leading zeros';
  return '';
}

/** Index of the "/" that starts a trailing "/digits", or -1. */
function trailingCidr(text: string): number {
  let i = text.length;
  while (i > 0 && text.charCodeAt(i - 1) >= 48 && text.charCodeAt(i - 1) <= 57) i--;
  return i < text.length && i > 0 && text[i - 1] === '/' ? i - 1 : -1;
}

/** ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT); ip6 likewise up to 128 (RFC 7208 12). */
function cidrLength(digits: string, max: number, term: string): number | SpfParseError {
  const value = Number(digits);
  if ((digits.length > 1 && digits[0] === '0') || value > max) {
    const why = value > max ? `more than ${max}` : 'written with a leading zero';
    return error('bad-cidr', term, `CIDR length "/${digits}" is ${why} (RFC 7208 5.6)`);
  }
  return value;
}

/**
 * domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
 * (RFC 7208 7.1). Syntax is checked before expansion, never after (suite: "invalid-hello-macro").
 */
export function parseDomainSpec(source: string, term: string, context: MacroContext = 'domain'): MacroString | SpfParseError {
  const compiled = compileMacroString(source, context);
  if (!compiled.ok) return error('bad-macro', term, compiled.message);
  // Where the last macro-expand ends: a domain-spec may end with one.
  let lastMacroEnd = -1;
  for (let i = source.indexOf('%'); i >= 0 && i < source.length; i = source.indexOf('%', i)) {
    i = source[i + 1] === '{' ? source.indexOf('}', i) + 1 : i + 2;
    lastMacroEnd = i;
  }
  if (lastMacroEnd === source.length) return compiled.macro;
  const name = source.endsWith('.') ? source.slice(0, -1) : source;
  const dot = name.lastIndexOf('.');
  const top = name.slice(dot + 1);
  if (dot < 0 || dot < lastMacroEnd || !isTopLabel(top)) {
    return error('bad-domain-spec', term, `"${source}" is not a valid domain: ${domainHint(name, dot, top)} (RFC 7208 7.1)`);
  }
  return compiled.macro;
}

/** toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ). */
function isTopLabel(label: string): boolean {
  if (label.length === 0) return false;
  let alpha = false;
  let dash = false;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    const lower = c | 0x20;
    if (lower >= 0x61 && lower <= 0x7a) alpha = true;
    else if (c === 45) dash = true;
    else if (c < 48 || c > 57) return false;
  }
  if (!dash) return alpha;
  return label[0] !== '-' && label[label.length - 1] !== '-';
}

function domainHint(name: string, dot: number, top: string): string {
  if (dot < 0) return `it needs at least two labels ("${name}.example"), or must end in a macro`;
  if (parseIpv4(name) >= 0) return `it is an IPv4 address; use "ip4:${name}" (RFC 7208 5.6)`;
  if (/^\d+$/.test(top)) return `the last label "${top}" is all digits`;
  if (top.includes(':')) return `the last label "${top}" holds a ":"; ports do not belong in SPF`;
  if (top.startsWith('-') || top.endsWith('-')) return `the last label "${top}" starts or ends with "-"`;
  if (top === '') return 'it ends with an empty label';
  return `the last label "${top}" is not a valid top-level label (letters, digits, inner "-")`;
}

function error(code: SpfParseErrorCode, term: string, message: string): SpfParseError {
  return { code, term, message };
}

function fail(code: SpfParseErrorCode, term: string, message: string): SpfParseResult {
  return { ok: false, error: error(code, term, message) };
}
