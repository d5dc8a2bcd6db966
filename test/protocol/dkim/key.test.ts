/** RFC 6376 3.6.1, RFC 8463 4.2, RFC 8301 3.2: key records, and the key cache. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkKeyForSignature, createKeyCache, parseDkimKeyRecord } from '../../../src/auth/dkim/key.js';
import { parseDkimSignature } from '../../../src/auth/dkim/signature.js';
import { zoneResolver } from '../../../src/dns/zone.js';
import { rsaKeyOfBits } from './fixtures.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
const SPKI = rsa.export({ type: 'spki', format: 'der' }).toString('base64');
const PKCS1 = rsa.export({ type: 'pkcs1', format: 'der' }).toString('base64');
const edDer = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
const ED_RAW = edDer.subarray(edDer.length - 32).toString('base64');
// RFC 8463 A.2
const RFC8463_ED = 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

describe('parseDkimKeyRecord', () => {
  it.each([
    ['RSA SubjectPublicKeyInfo', `v=DKIM1; k=rsa; p=${SPKI}`, 'rsa', 1024],
    ['RSA bare PKCS#1 RSAPublicKey', `v=DKIM1; p=${PKCS1}`, 'rsa', 1024],
    ['no v=, no k= (defaults to rsa)', `p=${SPKI}`, 'rsa', 1024],
    ['p= split by FWS', `k=rsa; p=${SPKI.slice(0, 50)} ${SPKI.slice(50)}`, 'rsa', 1024],
    ['Ed25519 raw 32 bytes', `v=DKIM1; k=ed25519; p=${ED_RAW}`, 'ed25519', 256],
    ['RFC 8463 A.2 record', RFC8463_ED, 'ed25519', 256],
    ['h=sha256, s=email, unknown tags', `v=DKIM1; h=sha1:sha256; s=email; n=some notes; zz=1; p=${SPKI}`, 'rsa', 1024],
  ])('%s', (_name, txt, keyType, bits) => {
    const p = parseDkimKeyRecord(txt);
    expect(p.ok, JSON.stringify(p)).toBe(true);
    expect(p.ok && { keyType: p.record.keyType, bits: p.record.bits }).toEqual({ keyType, bits });
  });

  it('reads the t= flags', () => {
    const p = parseDkimKeyRecord(`v=DKIM1; t=y:s; p=${SPKI}`);
    expect(p.ok && [p.record.testing, p.record.strictIdentity]).toEqual([true, true]);
  });

  const short = rsaKeyOfBits(512);
  it.each([
    ['revoked (empty p=)', 'v=DKIM1; k=rsa; p=', 'permerror', 'key-revoked', /revoked/],
    ['no p=', 'v=DKIM1; k=rsa', 'permerror', 'key-syntax', /no p= tag/],
    ['v=DKIM2', `v=DKIM2; p=${SPKI}`, 'permerror', 'key-syntax', /v=DKIM2/],
    ['unknown k=', `k=dsa; p=${SPKI}`, 'permerror', 'key-syntax', /k=dsa/],
    ['h= excludes sha256', `h=sha1; p=${SPKI}`, 'permerror', 'key-hash-mismatch', /only h=sha1/],
    ['s= not email', `s=tlsrpt; p=${SPKI}`, 'permerror', 'key-service-mismatch', /s=tlsrpt/],
    ['512-bit RSA (RFC 8301)', short.dnsValue, 'fail', 'key-too-short', /512 bits/],
    ['k=rsa with an Ed25519 key', `k=rsa; p=${edDer.toString('base64')}`, 'permerror', 'key-type-mismatch', /ed25519 key but k=rsa/],
    ['Ed25519 not 32 bytes', `k=ed25519; p=${edDer.toString('base64')}`, 'permerror', 'key-invalid', /44 bytes/],
    ['p= not base64', 'p=***', 'permerror', 'key-syntax', /not base64/],
    ['p= not a key', 'p=AAAA', 'permerror', 'key-invalid', /not hold an RSA public key/],
    ['not a tag list', 'hello world', 'permerror', 'key-syntax', /not a valid tag list/],
  ])('%s', (_name, txt, result, code, reason) => {
    const p = parseDkimKeyRecord(txt);
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect({ result: p.result, code: p.code }).toEqual({ result, code });
    expect(p.reason).toMatch(reason);
  });
});

describe('checkKeyForSignature (RFC 6376 6.1.2)', () => {
  const sig = (a: string, i = '@example.com') => {
    const p = parseDkimSignature(`v=1; a=${a}; d=example.com; s=s; h=from; bh=AA==; b=AA==; i=${i}`);
    if (!p.ok) throw new Error(p.reason);
    return p.signature;
  };
  const rsaKey = parseDkimKeyRecord(`k=rsa; t=s; p=${SPKI}`);
  if (!rsaKey.ok) throw new Error('fixture');

  it('k= must match a=', () => {
    expect(checkKeyForSignature(rsaKey.record, sig('ed25519-sha256'))?.code).toBe('key-type-mismatch');
    expect(checkKeyForSignature(rsaKey.record, sig('rsa-sha256'))).toBeUndefined();
  });
  it('t=s refuses an i= in a subdomain', () => {
    expect(checkKeyForSignature(rsaKey.record, sig('rsa-sha256', 'joe@mail.example.com'))?.code).toBe('key-strict-identity');
    expect(checkKeyForSignature(rsaKey.record, sig('rsa-sha256', 'joe@example.com'))).toBeUndefined();
  });
});

describe('key cache', () => {
  const name = 'sel._domainkey.example.com';

  it('answers from cache within the TTL, asks DNS again after it', async () => {
    const resolver = zoneResolver({ [name]: { TXT: [RFC8463_ED], ttl: 60 } });
    const cache = createKeyCache();
    expect((await cache.lookup(name, resolver, 1000)).kind).toBe('key');
    expect((await cache.lookup(name, resolver, 1059)).kind).toBe('key');
    expect(resolver.calls).toHaveLength(1);
    expect((await cache.lookup(name, resolver, 1060)).kind).toBe('key');
    expect(resolver.calls).toHaveLength(2);
    // The record text did not change: the parsed KeyObject is reused, not rebuilt.
    expect(cache.stats).toEqual({ hits: 1, queries: 2, parses: 1 });
  });

  it('sees a new record once the old one expires', async () => {
    const resolver = zoneResolver({ [name]: { TXT: [RFC8463_ED], ttl: 10 } });
    const cache = createKeyCache();
    await cache.lookup(name, resolver, 0);
    resolver.setZone({ [name]: { TXT: ['v=DKIM1; k=ed25519; p='], ttl: 10 } });
    expect((await cache.lookup(name, resolver, 5)).kind).toBe('key');
    const later = await cache.lookup(name, resolver, 11);
    expect(later.kind === 'issue' && later.code).toBe('key-revoked');
  });

  it('shares one lookup between concurrent callers', async () => {
    const resolver = zoneResolver({ [name]: { TXT: [RFC8463_ED] } });
    const cache = createKeyCache();
    await Promise.all([cache.lookup(name, resolver, 0), cache.lookup(name, resolver, 0), cache.lookup(name.toUpperCase(), resolver, 0)]);
    expect(resolver.calls).toHaveLength(1);
  });

  it('does not cache a temporary failure', async () => {
    const resolver = zoneResolver({ [name]: { SERVFAIL: true } });
    const cache = createKeyCache();
    expect((await cache.lookup(name, resolver, 0)).kind).toBe('temperror');
    resolver.setZone({ [name]: { TXT: [RFC8463_ED] } });
    expect((await cache.lookup(name, resolver, 1)).kind).toBe('key');
  });

  it('maps NXDOMAIN and NODATA to "no key", and picks the usable record of several', async () => {
    const resolver = zoneResolver({ 'other.example.com': { TXT: ['x'] }, [name]: { TXT: ['v=spf1 -all', RFC8463_ED] } });
    const cache = createKeyCache();
    const none = await cache.lookup('nope._domainkey.example.com', resolver, 0);
    expect(none.kind === 'issue' && [none.result, none.code]).toEqual(['permerror', 'no-key']);
    expect((await cache.lookup(name, resolver, 0)).kind).toBe('key');
  });
});
