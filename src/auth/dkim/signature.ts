/**
 * The DKIM-Signature header field (RFC 6376 3.5): parse with reasons, the time checks of 6.1.1,
 * and the field with its `b=` value removed, as it enters the header hash (RFC 6376 3.7).
 */
import { parseTagList, stripFws, trimFws } from './tag-list.js';
import type { Canonicalization, DkimAlgorithm, DkimCode, DkimSignatureFacts } from './types.js';

/** A DKIM-Signature that passed the checks of RFC 6376 6.1.1 that need no clock and no DNS. */
export interface DkimSignature {
  algorithm: DkimAlgorithm; // "a"
  /** The key type the algorithm needs (RFC 6376 3.6.1 `k=`). */
  keyType: 'rsa' | 'ed25519';
  signature: Buffer; // "b"
  bodyHash: Buffer; // "bh"
  headerCanonicalization: Canonicalization; // "c", before the slash
  bodyCanonicalization: Canonicalization; // "c", after the slash
  domain: string; // "d", lowercased
  /** Signed header field names, lowercased, in order (duplicates kept: oversigning). */
  headerKeys: string[]; // "h"
  identity: string; // "i", default "@" + d
  /** The domain part of `i=`, lowercased. */
  identityDomain: string;
  bodyLength?: number; // "l"
  selector: string; // "s"
  signedAt?: number; // "t"
  expiresAt?: number; // "x"
}

export type SignatureParse =
  | { ok: true; signature: DkimSignature; facts: DkimSignatureFacts }
  | { ok: false; result: 'permerror' | 'fail'; code: DkimCode; reason: string; facts: DkimSignatureFacts };

const REQUIRED = ['v', 'a', 'b', 'bh', 'd', 'h', 's'] as const;
// Character loops rather than regular expressions: this runs once per signature on the hot path.
/** Dot-separated labels of letters, digits, "_" and inner "-" (d= and s=, RFC 6376 3.5, 3.1). */
function isLabels(s: string): boolean {
  let start = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i === s.length ? 0x2e : s.charCodeAt(i);
    if (c === 0x2e) {
      if (i === start || s.charCodeAt(start) === 0x2d || s.charCodeAt(i - 1) === 0x2d) return false;
      start = i + 1;
    } else if (!((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f || c === 0x2d)) {
      return false;
    }
  }
  return true;
}

/** 1 to 76 decimal digits (RFC 6376 3.5 t=, x=, l=). */
function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 76) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Parses the value of a DKIM-Signature field (everything after the colon). */
export function parseDkimSignature(value: string): SignatureParse {
  const list = parseTagList(value);
  const facts: DkimSignatureFacts = { domain: '', selector: '', algorithm: '', canonicalization: '', headerFields: [] };
  if (!list.ok) return invalid(facts, 'signature-syntax', `the DKIM-Signature is not a valid tag list: ${list.reason} (RFC 6376 3.2)`);
  const tags = list.tags;

  // Facts first, so that even a broken signature is reported with what it claims.
  facts.domain = (tags.get('d') ?? '').toLowerCase();
  facts.selector = tags.get('s') ?? '';
  facts.algorithm = tags.get('a') ?? '';
  const h = tags.get('h');
  facts.headerFields = h === undefined ? [] : splitList(h);
  const c = tags.get('c');
  let hc = 'simple';
  let bc = 'simple';
  if (c !== undefined) {
    const lc = stripFws(c).toLowerCase();
    const slash = lc.indexOf('/');
    hc = slash < 0 ? lc : lc.slice(0, slash);
    if (slash >= 0) bc = lc.slice(slash + 1);
  }
  facts.canonicalization = hc + '/' + bc;
  if (tags.get('b') !== undefined) facts.signature = stripFws(tags.get('b')!);
  if (tags.get('i') !== undefined) facts.identity = tags.get('i');
  if (tags.get('l') !== undefined) facts.bodyLengthLimited = true;
  const t = tags.get('t');
  const x = tags.get('x');
  if (t !== undefined && isDigits(t)) facts.signedAt = Number(t);
  if (x !== undefined && isDigits(x)) facts.expiresAt = Number(x);

  if (!hasAll(tags)) {
    const missing = REQUIRED.filter((name) => !tags.has(name));
    const names = missing.map((m) => `${m}=`).join(', ');
    return invalid(facts, 'missing-tag', `the DKIM-Signature lacks the required ${names} tag${missing.length > 1 ? 's' : ''} (RFC 6376 3.5)`);
  }
  if (tags.get('v') !== '1') return invalid(facts, 'bad-version', `v=${tags.get('v')} is not a DKIM version this verifier knows (only v=1, RFC 6376 3.5)`);

  const a = facts.algorithm.toLowerCase();
  // RFC 8301 3.1: verifiers must not consider rsa-sha1 signatures valid. Kagami says `fail`: the
  // signature was examined and refused (mailauth says `policy`, RFC 8601's "not acceptable").
  if (a === 'rsa-sha1') {
    return invalid(facts, 'sha1-not-acceptable', 'the signature uses rsa-sha1, which verifiers must not accept any more (RFC 8301 3.1)', 'fail');
  }
  if (a !== 'rsa-sha256' && a !== 'ed25519-sha256') return invalid(facts, 'unsupported-algorithm', `a=${facts.algorithm} is not a supported signing algorithm (rsa-sha256, ed25519-sha256)`);

  const signature = decodeStrictBase64(facts.signature!);
  if (signature === undefined) return invalid(facts, 'signature-syntax', 'b= is not base64 (RFC 6376 3.5)');
  if (signature.length === 0) return invalid(facts, 'signature-syntax', 'b= is empty (RFC 6376 3.5)');
  const bodyHash = decodeStrictBase64(stripFws(tags.get('bh')!));
  if (bodyHash === undefined) return invalid(facts, 'signature-syntax', 'bh= is not base64 (RFC 6376 3.5)');
  if (bodyHash.length === 0) return invalid(facts, 'signature-syntax', 'bh= is empty (RFC 6376 3.5)');

  if (!isCanon(hc) || !isCanon(bc)) {
    return invalid(facts, 'bad-canonicalization', `c=${tags.get('c')} is not a canonicalization (simple or relaxed, RFC 6376 3.4)`);
  }

  const domain = stripTrailingDot(facts.domain);
  if (!isLabels(domain)) return invalid(facts, 'signature-syntax', `d=${tags.get('d')} is not a domain name (RFC 6376 3.5)`);
  const selector = facts.selector;
  if (!isLabels(selector)) return invalid(facts, 'signature-syntax', `s=${selector} is not a valid selector (RFC 6376 3.1)`);

  const headerKeys = facts.headerFields.map(lower);
  if (headerKeys.includes('')) return invalid(facts, 'signature-syntax', 'h= has an empty header field name (RFC 6376 3.5)');
  if (!headerKeys.includes('from')) return invalid(facts, 'from-not-signed', 'h= does not include From, which must always be signed (RFC 6376 5.4, 6.1.1)');

  let identity = '@' + domain;
  let identityDomain = domain;
  if (facts.identity !== undefined) {
    identity = facts.identity;
    const at = identity.lastIndexOf('@');
    if (at < 0) return invalid(facts, 'signature-syntax', `i=${identity} has no "@" (RFC 6376 3.5)`);
    identityDomain = stripTrailingDot(identity.slice(at + 1).toLowerCase());
    if (identityDomain !== domain && !identityDomain.endsWith(`.${domain}`)) {
      return invalid(facts, 'identity-mismatch', `i=${identity} is not in d=${domain} or one of its subdomains (RFC 6376 3.5, 6.1.1)`);
    }
  }

  let bodyLength: number | undefined;
  const l = tags.get('l');
  if (l !== undefined) {
    if (!isDigits(l)) return invalid(facts, 'signature-syntax', `l=${l} is not a decimal count of octets (RFC 6376 3.5)`);
    bodyLength = Math.min(Number(l), Number.MAX_SAFE_INTEGER);
  }

  const q = tags.get('q');
  if (q !== undefined && q !== 'dns/txt' && !splitList(q.toLowerCase()).includes('dns/txt')) {
    return invalid(facts, 'bad-query-method', `q=${q} offers no query method this verifier knows (only dns/txt, RFC 6376 3.5)`);
  }

  if (t !== undefined && !isDigits(t)) return invalid(facts, 'signature-syntax', `t=${t} is not a timestamp (RFC 6376 3.5)`);
  if (x !== undefined && !isDigits(x)) return invalid(facts, 'signature-syntax', `x=${x} is not a timestamp (RFC 6376 3.5)`);
  if (facts.signedAt !== undefined && facts.expiresAt !== undefined && facts.expiresAt <= facts.signedAt) {
    return invalid(facts, 'expiry-before-timestamp', `x=${x} is not later than t=${t}, as it must be (RFC 6376 3.5)`);
  }

  const algorithm = a as DkimAlgorithm;
  const signatureOut: DkimSignature = {
    algorithm,
    keyType: algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519',
    signature,
    bodyHash,
    headerCanonicalization: hc as Canonicalization,
    bodyCanonicalization: bc as Canonicalization,
    domain,
    headerKeys,
    identity,
    identityDomain,
    selector,
  };
  if (bodyLength !== undefined) signatureOut.bodyLength = bodyLength;
  if (facts.signedAt !== undefined) signatureOut.signedAt = facts.signedAt;
  if (facts.expiresAt !== undefined) signatureOut.expiresAt = facts.expiresAt;
  return { ok: true, facts, signature: signatureOut };
}

/** A colon-separated list with FWS around the colons (h=, q=, RFC 6376 3.5). */
function splitList(value: string): string[] {
  const parts = value.split(':');
  for (let i = 0; i < parts.length; i++) parts[i] = trimFws(parts[i]!);
  return parts;
}

/**
 * Decodes base64 that has had its FWS removed (RFC 6376 2.4), or undefined if it is not base64:
 * Node's decoder skips stray characters, so a round trip proves the text was clean.
 */
function decodeStrictBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

function hasAll(tags: Map<string, string>): boolean {
  for (const name of REQUIRED) if (!tags.has(name)) return false;
  return true;
}

function lower(s: string): string {
  return s.toLowerCase();
}

function invalid(facts: DkimSignatureFacts, code: DkimCode, reason: string, result: 'permerror' | 'fail' = 'permerror'): SignatureParse {
  return { ok: false, result, code, reason, facts };
}

function isCanon(s: string | undefined): s is Canonicalization {
  return s === 'simple' || s === 'relaxed';
}

function stripTrailingDot(s: string): string {
  return s.endsWith('.') ? s.slice(0, -1) : s;
}

export type TimeCheck = { ok: true } | { ok: false; code: 'expired' | 'timestamp-in-future'; reason: string };

/**
 * RFC 6376 6.1.1: a signature whose `x=` has passed is unusable — "PERMFAIL (signature
 * expired)", so Kagami reports `permerror` (RFC 8601 2.7.1: the signature could not be
 * evaluated, not "evaluated and failed"). RFC 6376 3.5 `t=`: verifiers MAY ignore signatures
 * from the future; beyond `skew` seconds of clock difference this one is `permerror` too.
 */
export function checkSignatureTimes(sig: DkimSignature, now: number, skew: number): TimeCheck {
  if (sig.expiresAt !== undefined && now > sig.expiresAt) {
    return { ok: false, code: 'expired', reason: `the signature expired at ${iso(sig.expiresAt)} (x=${sig.expiresAt}, RFC 6376 3.5, 6.1.1)` };
  }
  if (sig.signedAt !== undefined && sig.signedAt > now + skew) {
    return { ok: false, code: 'timestamp-in-future', reason: `the signature is dated ${iso(sig.signedAt)}, in the future (t=${sig.signedAt}, RFC 6376 3.5)` };
  }
  return { ok: true };
}

function iso(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString().replace('.000Z', 'Z');
}

/**
 * The DKIM-Signature field as it enters its own header hash: final CRLF removed, and the value
 * of `b=` (with the whitespace around it) deleted, leaving `b=` (RFC 6376 3.5 `b=`, 3.7).
 */
export function withoutSignatureValue(raw: string): string {
  let field = raw.endsWith('\r\n') ? raw.slice(0, -2) : raw;
  let pos = field.indexOf(':') + 1;
  while (pos > 0 && pos <= field.length) {
    const semi = field.indexOf(';', pos);
    const end = semi < 0 ? field.length : semi;
    const eq = field.indexOf('=', pos);
    if (eq >= 0 && eq < end && trimFws(field.slice(pos, eq)) === 'b') {
      field = field.slice(0, eq + 1) + field.slice(end);
      break;
    }
    if (semi < 0) break;
    pos = semi + 1;
  }
  return field;
}
