/**
 * DKIM key records (RFC 6376 3.6.1, RFC 8463 4.2, RFC 8301 3.2): parse with reasons into a ready
 * `KeyObject`, check a key against the signature that wants it, and cache both the parsed key
 * (by record text) and the DNS answer (by name, for the record's TTL). Parsing a key costs more
 * than verifying with it, so a verifier that parses per message runs at many times the floor.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { DnsResolver } from '../../dns/types.js';
import type { DkimSignature } from './signature.js';
import { decodeBase64, parseTagList, stripFws } from './tag-list.js';
import type { DkimCode } from './types.js';

/** A usable public key from a `v=DKIM1` record. */
export interface DkimKeyRecord {
  keyType: 'rsa' | 'ed25519'; // "k"
  key: KeyObject; // "p"
  /** RSA modulus length; 256 for Ed25519. */
  bits: number;
  /** `t=y`: the domain is testing DKIM. */
  testing: boolean;
  /** `t=s`: `i=` must be in exactly `d=`, not a subdomain. */
  strictIdentity: boolean;
}

export type KeyIssue = { result: 'permerror' | 'fail'; code: DkimCode; reason: string };

export type KeyRecordParse = ({ ok: true } & { record: DkimKeyRecord }) | ({ ok: false } & KeyIssue);

/** RFC 8301 3.2: keys under 1024 bits must not be accepted. */
export const MIN_RSA_BITS = 1024;

// SubjectPublicKeyInfo header for an Ed25519 key (RFC 8410 4): the raw 32 bytes follow it.
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Parses a key record's text (the TXT strings already joined, RFC 6376 3.6.2.2). */
export function parseDkimKeyRecord(text: string): KeyRecordParse {
  const bad = (code: DkimCode, reason: string, result: 'permerror' | 'fail' = 'permerror'): KeyRecordParse => ({ ok: false, result, code, reason });
  const list = parseTagList(text);
  if (!list.ok) return bad('key-syntax', `the key record is not a valid tag list: ${list.reason} (RFC 6376 3.6.1)`);
  const tag = (name: string): string | undefined => list.tags.get(name);

  const v = tag('v');
  if (v !== undefined && v !== 'DKIM1') return bad('key-syntax', `the key record has v=${v}; only v=DKIM1 is a DKIM key (RFC 6376 3.6.1)`);
  const p = tag('p');
  if (p === undefined) return bad('key-syntax', 'the key record has no p= tag (RFC 6376 3.6.1)');
  if (stripFws(p) === '') return bad('key-revoked', 'the key has been revoked: its record has an empty p= (RFC 6376 3.6.1)');

  const k = (tag('k') ?? 'rsa').toLowerCase();
  if (k !== 'rsa' && k !== 'ed25519') return bad('key-syntax', `k=${k} is not a key type this verifier knows (rsa, ed25519)`);

  const h = tag('h');
  if (h !== undefined && !list_(h).includes('sha256')) {
    return bad('key-hash-mismatch', `the key allows only h=${h}, not sha256, the hash of every algorithm accepted (RFC 6376 3.6.1, RFC 8301)`);
  }
  const s = tag('s');
  if (s !== undefined && !list_(s).some((x) => x === 'email' || x === '*')) {
    return bad('key-service-mismatch', `the key is for s=${s}, not for email (RFC 6376 3.6.1)`);
  }
  const flags = list_(tag('t') ?? '');

  const der = decodeBase64(p);
  if (der === undefined) return bad('key-syntax', 'p= is not base64 (RFC 6376 3.6.1)');
  const built = k === 'rsa' ? rsaKey(der) : ed25519Key(der);
  if ('issue' in built) return bad(built.code, built.issue, built.code === 'key-too-short' ? 'fail' : 'permerror');
  return {
    ok: true,
    record: { keyType: k, key: built.key, bits: built.bits, testing: flags.includes('y'), strictIdentity: flags.includes('s') },
  };
}

function list_(value: string): string[] {
  return stripFws(value).toLowerCase().split(':');
}

type Built = { key: KeyObject; bits: number } | { code: DkimCode; issue: string };

/** RSA keys come as SubjectPublicKeyInfo (RFC 6376 3.6.1) or, in some records, bare PKCS#1. */
function rsaKey(der: Buffer): Built {
  let key: KeyObject | undefined;
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      key = createPublicKey({ key: der, format: 'der', type });
      break;
    } catch {
      // try the next encoding
    }
  }
  if (key === undefined) return { code: 'key-invalid', issue: 'p= does not hold an RSA public key (neither SubjectPublicKeyInfo nor PKCS#1)' };
  if (key.asymmetricKeyType !== 'rsa') return { code: 'key-type-mismatch', issue: `p= holds a ${key.asymmetricKeyType ?? 'non-RSA'} key but k=rsa` };
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return { code: 'key-too-short', issue: `the RSA key has ${bits} bits; keys under ${MIN_RSA_BITS} bits are not accepted (RFC 8301 3.2)` };
  return { key, bits };
}

/** RFC 8463 4.2: p= is the raw 32-byte Ed25519 public key, not an SPKI structure. */
function ed25519Key(raw: Buffer): Built {
  if (raw.length !== 32) return { code: 'key-invalid', issue: `the Ed25519 key is ${raw.length} bytes; RFC 8463 4.2 wants the raw 32-byte key` };
  try {
    return { key: createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' }), bits: 256 };
  } catch {
    return { code: 'key-invalid', issue: 'p= is not a valid Ed25519 public key' };
  }
}

/** RFC 6376 6.1.2: the key must suit the signature (`k=` vs `a=`; `t=s` vs `i=`). */
export function checkKeyForSignature(record: DkimKeyRecord, sig: DkimSignature): KeyIssue | undefined {
  if (record.keyType !== sig.keyType) {
    return { result: 'permerror', code: 'key-type-mismatch', reason: `the key is k=${record.keyType} but the signature is a=${sig.algorithm} (RFC 6376 3.6.1)` };
  }
  if (record.strictIdentity && sig.identityDomain !== sig.domain) {
    return {
      result: 'permerror',
      code: 'key-strict-identity',
      reason: `the key has t=s, so i= must be in exactly ${sig.domain}, not ${sig.identityDomain} (RFC 6376 3.6.1)`,
    };
  }
  return undefined;
}

/** What a key lookup found: a key, or why there is none. */
export type KeyLookup =
  | { kind: 'key'; record: DkimKeyRecord }
  | { kind: 'issue'; result: 'permerror' | 'fail'; code: DkimCode; reason: string }
  | { kind: 'temperror'; reason: string };

export interface DkimKeyCache {
  /** Looks up and parses the key at `name` (`selector._domainkey.domain`), from cache if fresh. */
  lookup(name: string, resolver: DnsResolver, now: number): Promise<KeyLookup>;
  /** The cached answer for `name` if it is still fresh (no DNS, no waiting). */
  peek(name: string, now: number): KeyLookup | undefined;
  /** Counters, for tests and metrics. */
  readonly stats: { hits: number; queries: number; parses: number };
  clear(): void;
}

export interface DkimKeyCacheOptions {
  /** Names kept (oldest dropped first). Default 10,000. */
  maxEntries?: number;
  /** Longest time an answer is kept, whatever its TTL, in seconds. Default 86,400. */
  maxTtl?: number;
}

/** A key cache: DNS answers by name for their TTL, parsed keys by record text. */
export function createKeyCache(options: DkimKeyCacheOptions = {}): DkimKeyCache {
  const maxEntries = options.maxEntries ?? 10_000;
  const maxTtl = options.maxTtl ?? 86_400;
  const byName = new Map<string, { expires: number; value: KeyLookup }>();
  const byText = new Map<string, KeyRecordParse>();
  const inflight = new Map<string, Promise<KeyLookup>>();
  const stats = { hits: 0, queries: 0, parses: 0 };

  const remember = <K, V>(map: Map<K, V>, key: K, value: V): void => {
    if (map.size >= maxEntries) map.delete(map.keys().next().value as K);
    map.set(key, value);
  };

  function parse(text: string): KeyRecordParse {
    let parsed = byText.get(text);
    if (parsed === undefined) {
      stats.parses++;
      parsed = parseDkimKeyRecord(text);
      remember(byText, text, parsed);
    }
    return parsed;
  }

  async function fetch(name: string, resolver: DnsResolver, now: number): Promise<KeyLookup> {
    stats.queries++;
    const answer = await resolver.query(name, 'TXT');
    switch (answer.kind) {
      case 'tempfail':
        return { kind: 'temperror', reason: `the key at ${name} could not be fetched: ${answer.reason} (RFC 6376 6.1.2)` };
      case 'nxdomain':
      case 'nodata':
        return { kind: 'issue', result: 'permerror', code: 'no-key', reason: `no key: ${name} has no TXT record (${answer.kind}, RFC 6376 6.1.2)` };
      case 'records': {
        // RFC 6376 6.1.2: with several records the verifier may choose; the first usable wins.
        const parsed = answer.records.map(parse);
        const chosen = parsed.find((r) => r.ok) ?? parsed[0]!;
        const value: KeyLookup = chosen.ok
          ? { kind: 'key', record: chosen.record }
          : { kind: 'issue', result: chosen.result, code: chosen.code, reason: `${chosen.reason} [${name}]` };
        remember(byName, name, { expires: now + Math.min(answer.ttl, maxTtl), value });
        return value;
      }
    }
  }

  function peek(name: string, now: number): KeyLookup | undefined {
    const cached = byName.get(name.toLowerCase());
    if (cached === undefined || cached.expires <= now) return undefined;
    stats.hits++;
    return cached.value;
  }

  return {
    stats,
    clear() {
      byName.clear();
      byText.clear();
    },
    peek,
    lookup(name, resolver, now) {
      const key = name.toLowerCase();
      const cached = peek(key, now);
      if (cached !== undefined) return Promise.resolve(cached);
      let pending = inflight.get(key);
      if (pending === undefined) {
        pending = fetch(key, resolver, now).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return pending;
    },
  };
}

const perResolver = new WeakMap<DnsResolver, DkimKeyCache>();

/**
 * The default cache of a resolver: one per resolver object, so a process that uses one resolver
 * shares its keys, and a test zone never sees another test's keys.
 */
export function keyCacheFor(resolver: DnsResolver): DkimKeyCache {
  let cache = perResolver.get(resolver);
  if (cache === undefined) {
    cache = createKeyCache();
    perResolver.set(resolver, cache);
  }
  return cache;
}
