/**
 * DKIM verification (RFC 6376 6, RFC 8463, RFC 8301): one result per DKIM-Signature field, in
 * message order. Facts only: what DMARC and local policy make of them is decided elsewhere.
 *
 * Cost is kept near the crypto floor: the message is split once; each distinct (body
 * canonicalization, l=) is hashed at most once and shared by the signatures that use it (see
 * `BodyDigests`); keys come parsed from a TTL cache, and all lookups start before any waiting.
 */
import { createHash, verify as cryptoVerify } from 'node:crypto';
import type { DnsResolver } from '../../dns/types.js';
import { BodyDigests, canonicalizeField, canonicalizeHeader } from './canonicalize.js';
import { splitMessage, type HeaderField } from '../../message/headers.js';
import { checkKeyForSignature, keyCacheFor, type DkimKeyCache, type DkimKeyRecord, type KeyLookup } from './key.js';
import { checkSignatureTimes, parseDkimSignature, withoutSignatureValue, type DkimSignature } from './signature.js';
import type { DkimCode, DkimResult, DkimSignatureFacts } from './types.js';

export interface DkimVerifyOptions {
  /** The clock, in seconds since the epoch, for `x=`, `t=` and key TTLs. Default: system time. */
  now?: () => number;
  /** Signatures evaluated per message; later ones get `policy` (RFC 6376 6.1, 8.4). Default 10. */
  maxSignatures?: number;
  /**
   * Clock difference tolerated for a `t=` in the future, in seconds (RFC 6376 3.5: verifiers MAY
   * ignore such signatures). Default one day: senders' clocks drift by hours (mailauth and dkimpy
   * do not check at all), while a signature dated days ahead is bogus.
   */
  clockSkewSeconds?: number;
  /** Where keys are cached. Default: one cache per resolver object (`keyCacheFor`). */
  keyCache?: DkimKeyCache;
}

export const DEFAULT_MAX_SIGNATURES = 10;
export const DEFAULT_CLOCK_SKEW_SECONDS = 86_400;

const DKIM_SIGNATURE = 'dkim-signature';

/** Verifies every DKIM-Signature of a message. Never throws for protocol outcomes. */
export async function verifyDkim(message: Buffer, resolver: DnsResolver, options: DkimVerifyOptions = {}): Promise<DkimResult[]> {
  const now = options.now?.() ?? Date.now() / 1000;
  const max = options.maxSignatures ?? DEFAULT_MAX_SIGNATURES;
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const cache = options.keyCache ?? keyCacheFor(resolver);
  const { fields, body } = splitMessage(message);

  type Pending = { field: number; sig: DkimSignature; facts: DkimSignatureFacts; key: KeyLookup | Promise<KeyLookup> };
  const results: (DkimResult | Pending)[] = [];
  let seen = 0;
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!;
    if (field.key !== DKIM_SIGNATURE) continue;
    const parsed = parseDkimSignature(field.raw.slice(field.raw.indexOf(':') + 1));
    if (++seen > max) {
      results.push(outcome(parsed.facts, 'policy', 'too-many-signatures', `not evaluated: the message has more than ${max} signatures (local limit, RFC 6376 8.4)`));
      continue;
    }
    if (!parsed.ok) {
      results.push(outcome(parsed.facts, parsed.result, parsed.code, parsed.reason));
      continue;
    }
    const times = checkSignatureTimes(parsed.signature, now, skew);
    if (!times.ok) {
      results.push(outcome(parsed.facts, 'permerror', times.code, times.reason));
      continue;
    }
    const name = `${parsed.signature.selector}._domainkey.${parsed.signature.domain}`;
    const key = cache.peek(name, now) ?? cache.lookup(name, resolver, now);
    results.push({ field: i, sig: parsed.signature, facts: parsed.facts, key });
  }

  const digests = new BodyDigests(body);
  const out: DkimResult[] = [];
  for (const r of results) {
    if (!('sig' in r)) {
      out.push(r);
      continue;
    }
    const lookup = r.key instanceof Promise ? await r.key : r.key; // a cached key needs no await
    out.push(evaluate(r.sig, r.facts, lookup, fields, r.field, digests));
  }
  return out;
}

/** RFC 6376 6.1.2 and 6.1.3 for one signature whose key lookup has finished. */
function evaluate(
  sig: DkimSignature,
  facts: DkimSignatureFacts,
  lookup: KeyLookup,
  fields: HeaderField[],
  self: number,
  digests: BodyDigests,
): DkimResult {
  if (lookup.kind === 'temperror') return outcome(facts, 'temperror', 'dns-tempfail', lookup.reason);
  if (lookup.kind === 'issue') return outcome(facts, lookup.result, lookup.code, lookup.reason);
  const key: DkimKeyRecord = lookup.record;
  const withKey = facts; // this signature's own facts object, completed with the key's
  withKey.keyBits = key.bits;
  if (key.testing) withKey.testing = true;
  const unsuitable = checkKeyForSignature(key, sig);
  if (unsuitable) return outcome(withKey, unsuitable.result, unsuitable.code, unsuitable.reason);

  const c = sig.bodyCanonicalization;
  if (sig.bodyLength !== undefined) {
    const { canonicalLength } = digests.get(c, sig.bodyLength);
    if (sig.bodyLength > canonicalLength) {
      return outcome(
        withKey,
        'permerror',
        'body-length-exceeds-body',
        `l=${sig.bodyLength} is longer than the ${canonicalLength}-byte canonical body: the body was shortened after signing (RFC 6376 6.1.3)`,
      );
    }
  }
  if (!digests.matches(sig.bodyHash, c, sig.bodyLength)) {
    const limited = sig.bodyLength !== undefined ? ` (within the first ${sig.bodyLength} bytes that l= signs)` : '';
    return outcome(withKey, 'fail', 'body-hash-mismatch', `body hash did not verify: the body was changed after signing${limited}`);
  }

  const data = headerHashInput(sig, fields, self);
  const ok =
    sig.algorithm === 'rsa-sha256'
      ? cryptoVerify('sha256', data, key.key, sig.signature)
      : // RFC 8463 3: Ed25519 signs the SHA-256 of the header data (PureEdDSA over the hash).
        cryptoVerify(null, createHash('sha256').update(data).digest(), key.key, sig.signature);
  if (!ok) {
    return outcome(
      withKey,
      'fail',
      'signature-mismatch',
      'signature did not verify: a signed header field was changed after signing, or the key in DNS is not the one that signed',
    );
  }
  const testing = key.testing ? '; the domain marks its key as testing (t=y)' : '';
  const reason = `verified with the ${key.bits}-bit ${key.keyType} key at ${sig.selector}._domainkey.${sig.domain}${testing}`;
  return outcome(withKey, 'pass', 'verified', reason);
}

/**
 * RFC 6376 5.4.2 / 3.7: for each name in h=, the next instance from the bottom; a name with no
 * instance left contributes nothing (that is how oversigning works). Then this signature field
 * itself, without its b= value and without its final CRLF. A signature does not sign itself,
 * even if h= names DKIM-Signature.
 */
function headerHashInput(sig: DkimSignature, fields: HeaderField[], self: number): Buffer {
  const c = sig.headerCanonicalization;
  const used = new Map<string, number>();
  let data = '';
  for (const name of sig.headerKeys) {
    const skip = used.get(name) ?? 0; // instances of this name already taken, from the bottom
    used.set(name, skip + 1);
    let seen = 0;
    for (let i = fields.length - 1; i >= 0; i--) {
      if (fields[i]!.key !== name || i === self) continue;
      if (seen++ === skip) {
        data += canonicalizeField(fields[i]!, c);
        break;
      }
    }
  }
  const own = canonicalizeHeader(withoutSignatureValue(fields[self]!.raw), c);
  data += c === 'relaxed' ? own.slice(0, -2) : own;
  return Buffer.from(data, 'latin1');
}

/**
 * Completes a signature's facts into its result. The facts object belongs to this one signature
 * (made by `parseDkimSignature` for this call), so it becomes the result instead of being copied.
 */
function outcome(facts: DkimSignatureFacts, result: DkimResult['result'], code: DkimCode, reason: string): DkimResult {
  const r = facts as DkimSignatureFacts & { result: DkimResult['result']; code: DkimCode; reason: string };
  r.result = result;
  r.code = code;
  r.reason = reason;
  return r as DkimResult; // result, code and reason together form one of the variants
}
