/** verifyDkim end to end over an in-memory zone: round trips, tampering, time, several signatures. */
import { describe, expect, it } from 'vitest';
import { createKeyCache } from '../../../src/auth/dkim/key.js';
import { signDkim } from '../../../src/auth/dkim/sign.js';
import type { CanonicalizationPair, DkimAlgorithm } from '../../../src/auth/dkim/types.js';
import { verifyDkim } from '../../../src/auth/dkim/verify.js';
import { zoneResolver } from '../../../src/dns/zone.js';
import { HEADER, makeKeys, message, NOW, prepend, rsaKeyOfBits, tamper, zoneFor, type TestKey } from './fixtures.js';

const keys = makeKeys();
const DOMAIN = 'example.com';
const now = () => NOW;

function signed(key: TestKey, algorithm: DkimAlgorithm, extra: Partial<Parameters<typeof signDkim>[1]> = {}, msg = message()): Buffer {
  const field = signDkim(msg, { domain: DOMAIN, selector: key.selector, privateKey: key.privateKey, algorithm, now, ...extra });
  return prepend(field, msg);
}

const resolver = () => zoneFor(DOMAIN, [keys.rsa, keys.ed]);
const cases: [string, TestKey, DkimAlgorithm][] = [
  ['rsa-sha256', keys.rsa, 'rsa-sha256'],
  ['ed25519-sha256', keys.ed, 'ed25519-sha256'],
];
const CANONS: CanonicalizationPair[] = ['simple/simple', 'simple/relaxed', 'relaxed/simple', 'relaxed/relaxed'];

describe('sign → verify round trips', () => {
  for (const [name, key, algorithm] of cases) {
    for (const canonicalization of CANONS) {
      it(`${name} ${canonicalization}`, async () => {
        const [r] = await verifyDkim(signed(key, algorithm, { canonicalization }), resolver(), { now });
        expect(r).toMatchObject({ result: 'pass', code: 'verified', domain: DOMAIN, selector: key.selector, algorithm, canonicalization, signedAt: NOW });
        expect(r!.keyBits).toBe(algorithm === 'rsa-sha256' ? 2048 : 256);
        expect(r!.headerFields.filter((h) => h === 'from')).toHaveLength(2); // From is oversigned
      });
    }
  }

  it('an unsigned message has no results', async () => {
    expect(await verifyDkim(message(), resolver(), { now })).toEqual([]);
  });

  it('a message stored with LF line endings verifies', async () => {
    const lf = Buffer.from(signed(keys.rsa, 'rsa-sha256', { canonicalization: 'simple/simple' }).toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    expect((await verifyDkim(lf, resolver(), { now }))[0]!.result).toBe('pass');
  });
});

describe('tampering', () => {
  for (const [name, key, algorithm] of cases) {
    it(`${name}: a changed signed header → signature-mismatch`, async () => {
      const msg = tamper(signed(key, algorithm), 'Subject: Quarterly numbers', 'Subject: Quarterly numbers (revised)');
      const [r] = await verifyDkim(msg, resolver(), { now });
      expect(r).toMatchObject({ result: 'fail', code: 'signature-mismatch' });
      expect(r!.reason).toMatch(/^signature did not verify: a signed header field was changed/);
    });
    it(`${name}: a changed body → body-hash-mismatch`, async () => {
      const msg = tamper(signed(key, algorithm), 'Hello Bob', 'Hello Eve');
      const [r] = await verifyDkim(msg, resolver(), { now });
      expect(r).toMatchObject({ result: 'fail', code: 'body-hash-mismatch', reason: 'body hash did not verify: the body was changed after signing' });
    });
  }

  it('relaxed/relaxed survives refolding and whitespace changes; simple/simple does not', async () => {
    const reshape = (m: Buffer) => tamper(tamper(m, 'Subject: Quarterly numbers', 'subject:   Quarterly\r\n\tnumbers  '), 'Hello Bob,', 'Hello   Bob,  ');
    const relaxed = await verifyDkim(reshape(signed(keys.rsa, 'rsa-sha256', { canonicalization: 'relaxed/relaxed' })), resolver(), { now });
    const simple = await verifyDkim(reshape(signed(keys.rsa, 'rsa-sha256', { canonicalization: 'simple/simple' })), resolver(), { now });
    expect(relaxed[0]!.result).toBe('pass');
    expect(simple[0]!.result).toBe('fail');
  });

  it('an added From breaks the signature (From is oversigned)', async () => {
    const msg = prepend('From: Mallory <ceo@example.com>\r\n', signed(keys.ed, 'ed25519-sha256'));
    expect((await verifyDkim(msg, resolver(), { now }))[0]).toMatchObject({ result: 'fail', code: 'signature-mismatch' });
  });

  it('an added unsigned header does not matter', async () => {
    const msg = prepend('Received: from relay.example.net\r\n', signed(keys.ed, 'ed25519-sha256'));
    expect((await verifyDkim(msg, resolver(), { now }))[0]!.result).toBe('pass');
  });

  it('a garbled b= is reported as a syntax error, not as a changed message', async () => {
    const msg = signed(keys.rsa, 'rsa-sha256');
    const s = msg.toString('latin1');
    const broken = Buffer.from(s.replace(/ b=([A-Za-z0-9+/]{10})/, ' b=$1*!'), 'latin1');
    expect((await verifyDkim(broken, resolver(), { now }))[0]).toMatchObject({ result: 'permerror', code: 'signature-syntax', reason: 'b= is not base64 (RFC 6376 3.5)' });
  });
});

describe('l= (RFC 6376 3.4.5, 8.2)', () => {
  const limited = (c: CanonicalizationPair) => signed(keys.ed, 'ed25519-sha256', { bodyLength: true, canonicalization: c });
  for (const c of ['simple/simple', 'relaxed/relaxed'] as const) {
    it(`${c}: passes, and l= is reported as a risk`, async () => {
      const msg = limited(c);
      expect(msg.toString('latin1')).toMatch(/ l=\d+;/);
      expect((await verifyDkim(msg, resolver(), { now }))[0]).toMatchObject({ result: 'pass', bodyLengthLimited: true });
    });
    it(`${c}: text appended after the signed length still passes`, async () => {
      const msg = Buffer.concat([limited(c), Buffer.from('\r\nClick here: https://phish.example/\r\n')]);
      expect((await verifyDkim(msg, resolver(), { now }))[0]).toMatchObject({ result: 'pass', bodyLengthLimited: true });
    });
    it(`${c}: a body shorter than l= → permerror`, async () => {
      const msg = tamper(limited(c), 'attached.', 'a');
      expect((await verifyDkim(msg, resolver(), { now }))[0]).toMatchObject({ result: 'permerror', code: 'body-length-exceeds-body' });
    });
    it(`${c}: a change inside the signed part → body-hash-mismatch`, async () => {
      const [r] = await verifyDkim(tamper(limited(c), 'Hello Bob', 'Hello Eve'), resolver(), { now });
      expect(r).toMatchObject({ result: 'fail', code: 'body-hash-mismatch' });
      expect(r!.reason).toMatch(/within the first \d+ bytes that l= signs/);
    });
  }
  it('signatures without l= say nothing about it', async () => {
    expect((await verifyDkim(signed(keys.ed, 'ed25519-sha256'), resolver(), { now }))[0]!.bodyLengthLimited).toBeUndefined();
  });
});

describe('DNS outcomes', () => {
  it('no key record → permerror "no key"', async () => {
    const [r] = await verifyDkim(signed(keys.rsa, 'rsa-sha256'), zoneResolver({}), { now });
    expect(r).toMatchObject({ result: 'permerror', code: 'no-key' });
    expect(r!.reason).toMatch(/^no key: rsa\._domainkey\.example\.com has no TXT record \(nxdomain/);
  });
  it('name exists without TXT → permerror "no key"', async () => {
    const [r] = await verifyDkim(signed(keys.rsa, 'rsa-sha256'), zoneResolver({ 'rsa._domainkey.example.com': { A: ['192.0.2.1'] } }), { now });
    expect(r).toMatchObject({ result: 'permerror', code: 'no-key' });
  });
  it('SERVFAIL → temperror', async () => {
    const [r] = await verifyDkim(signed(keys.rsa, 'rsa-sha256'), zoneResolver({ 'rsa._domainkey.example.com': { SERVFAIL: true } }), { now });
    expect(r).toMatchObject({ result: 'temperror', code: 'dns-tempfail' });
  });
  it('revoked key → permerror', async () => {
    const z = zoneResolver({ 'rsa._domainkey.example.com': { TXT: ['v=DKIM1; k=rsa; p='] } });
    expect((await verifyDkim(signed(keys.rsa, 'rsa-sha256'), z, { now }))[0]).toMatchObject({ result: 'permerror', code: 'key-revoked' });
  });
  it('k= that does not match a= → permerror', async () => {
    const z = zoneResolver({ 'rsa._domainkey.example.com': { TXT: [keys.ed.dnsValue] } });
    expect((await verifyDkim(signed(keys.rsa, 'rsa-sha256'), z, { now }))[0]).toMatchObject({ result: 'permerror', code: 'key-type-mismatch' });
  });
  it('a key in testing mode (t=y) still passes and says so', async () => {
    const z = zoneResolver({ 'ed._domainkey.example.com': { TXT: [keys.ed.dnsValue.replace('v=DKIM1;', 'v=DKIM1; t=y;')] } });
    const [r] = await verifyDkim(signed(keys.ed, 'ed25519-sha256'), z, { now });
    expect(r).toMatchObject({ result: 'pass', testing: true });
  });
  it('an RSA key under 1024 bits fails (RFC 8301)', async () => {
    const short = rsaKeyOfBits(1023);
    const msg = message();
    // signDkim refuses such a key, so sign with a good key and publish the short one.
    const z = zoneResolver({ 'rsa._domainkey.example.com': { TXT: [short.dnsValue] } });
    const [r] = await verifyDkim(signed(keys.rsa, 'rsa-sha256', {}, msg), z, { now });
    expect(r).toMatchObject({ result: 'fail', code: 'key-too-short' });
    expect(() => signDkim(msg, { domain: DOMAIN, selector: 'x', privateKey: short.privateKey, algorithm: 'rsa-sha256' })).toThrow(/too short/);
  });
});

describe('x= and t= with the injected clock', () => {
  const msg = () => signed(keys.ed, 'ed25519-sha256', { expiresInSeconds: 3600 });
  it.each([
    ['just signed', NOW, 'pass', 'verified'],
    ['at x=', NOW + 3600, 'pass', 'verified'],
    ['after x=: expired is permerror (RFC 6376 6.1.1)', NOW + 3601, 'permerror', 'expired'],
    ['clock 4 minutes behind the signer: within the skew', NOW - 240, 'pass', 'verified'],
    ['clock 6 hours behind the signer: within the skew', NOW - 6 * 3600, 'pass', 'verified'],
    ['clock two days behind: t= in the future', NOW - 2 * 86_400, 'permerror', 'timestamp-in-future'],
  ])('%s', async (_name, at, result, code) => {
    const [r] = await verifyDkim(msg(), resolver(), { now: () => at });
    expect(r).toMatchObject({ result, code, signedAt: NOW, expiresAt: NOW + 3600 });
  });
  it('an expired signature is not looked up in DNS', async () => {
    const z = resolver();
    await verifyDkim(msg(), z, { now: () => NOW + 7200 });
    expect(z.calls).toEqual([]);
  });
});

describe('several signatures', () => {
  it('one result per DKIM-Signature, in order, each with its own outcome', async () => {
    const base = message();
    const ed = signDkim(base, { domain: DOMAIN, selector: 'ed', privateKey: keys.ed.privateKey, algorithm: 'ed25519-sha256', now });
    const rsa = signDkim(base, { domain: DOMAIN, selector: 'rsa', privateKey: keys.rsa.privateKey, algorithm: 'rsa-sha256', now, canonicalization: 'simple/simple' });
    const other = signDkim(base, { domain: 'list.example.org', selector: 'lst', privateKey: keys.rsa.privateKey, algorithm: 'rsa-sha256', now });
    const z = zoneFor(DOMAIN, [keys.rsa, keys.ed]);
    const results = await verifyDkim(prepend(other + rsa + ed, base), z, { now });
    expect(results.map((r) => [r.domain, r.selector, r.result, r.code])).toEqual([
      ['list.example.org', 'lst', 'permerror', 'no-key'],
      [DOMAIN, 'rsa', 'pass', 'verified'],
      [DOMAIN, 'ed', 'pass', 'verified'],
    ]);
  });

  it('a later signature that signs the earlier ones (h= includes DKIM-Signature)', async () => {
    const first = signed(keys.ed, 'ed25519-sha256');
    const second = signDkim(first, { domain: DOMAIN, selector: 'rsa', privateKey: keys.rsa.privateKey, algorithm: 'rsa-sha256', now, headers: ['from', 'dkim-signature'] });
    const results = await verifyDkim(prepend(second, first), resolver(), { now });
    expect(results.map((r) => r.result)).toEqual(['pass', 'pass']);
  });

  it('signatures over the limit are not evaluated: policy', async () => {
    let msg = message();
    for (let i = 0; i < 3; i++) msg = signed(keys.ed, 'ed25519-sha256', {}, msg);
    const results = await verifyDkim(msg, resolver(), { now, maxSignatures: 2 });
    expect(results.map((r) => r.result)).toEqual(['pass', 'pass', 'policy']);
    expect(results[2]!.reason).toMatch(/more than 2 signatures/);
  });

  it('the key is fetched once for signatures that share it, and cached across messages', async () => {
    const z = resolver();
    const keyCache = createKeyCache();
    const twice = signed(keys.ed, 'ed25519-sha256', {}, signed(keys.ed, 'ed25519-sha256'));
    expect((await verifyDkim(twice, z, { now, keyCache })).map((r) => r.result)).toEqual(['pass', 'pass']);
    expect(z.calls).toHaveLength(1);
    await verifyDkim(twice, z, { now, keyCache });
    expect(z.calls).toHaveLength(1);
    expect(keyCache.stats).toMatchObject({ queries: 1, parses: 1 });
    // After the record's TTL (3600 s in the fixture zone) the key is fetched again.
    await verifyDkim(twice, z, { now: () => NOW + 3601, keyCache });
    expect(z.calls).toHaveLength(2);
    expect(keyCache.stats.parses).toBe(1);
  });

  it('the default cache belongs to the resolver', async () => {
    const z = resolver();
    const msg = signed(keys.ed, 'ed25519-sha256');
    await verifyDkim(msg, z, { now });
    await verifyDkim(msg, z, { now });
    expect(z.calls).toHaveLength(1);
    const fresh = resolver();
    await verifyDkim(msg, fresh, { now });
    expect(fresh.calls).toHaveLength(1);
  });
});

describe('malformed signatures keep their place and facts', () => {
  it('a syntax error in one signature does not hide the others', async () => {
    const good = signed(keys.ed, 'ed25519-sha256');
    const msg = prepend('DKIM-Signature: v=1; a=rsa-sha1; d=example.com; s=old; h=from; bh=AA==; b=AA==\r\n', good);
    const results = await verifyDkim(msg, resolver(), { now });
    expect(results.map((r) => [r.result, r.code, r.selector])).toEqual([
      ['fail', 'sha1-not-acceptable', 'old'],
      ['pass', 'verified', 'ed'],
    ]);
  });
});
