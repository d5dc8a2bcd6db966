/** signDkim and generateDkimKey: the field's shape, the default h= list, misuse, RFC 8463 keys. */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDkimKeyRecord } from '../../../src/auth/dkim/key.js';
import { generateDkimKey } from '../../../src/auth/dkim/keygen.js';
import { signDkim } from '../../../src/auth/dkim/sign.js';
import { parseDkimSignature } from '../../../src/auth/dkim/signature.js';
import { verifyDkim } from '../../../src/auth/dkim/verify.js';
import { zoneResolver } from '../../../src/dns/zone.js';
import { makeKeys, message, NOW, prepend } from './fixtures.js';

const keys = makeKeys();
const now = () => NOW;
const CORPUS = '/work/shared/corpus/dkim/rfc8463/';

function fieldOf(field: string) {
  const p = parseDkimSignature(field.slice(field.indexOf(':') + 1));
  if (!p.ok) throw new Error(p.reason);
  return p.signature;
}

describe('signDkim', () => {
  const field = signDkim(message(), { domain: 'Example.com', selector: 'rsa', privateKey: keys.rsa.privateKey, algorithm: 'rsa-sha256', now, expiresInSeconds: 86400 });

  it('returns one folded field ending in CRLF, lines within 78 columns', () => {
    expect(field.startsWith('DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=rsa;')).toBe(true);
    expect(field.endsWith('\r\n')).toBe(true);
    const lines = field.slice(0, -2).split('\r\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(78);
    for (const line of lines.slice(1)) expect(line.startsWith(' ')).toBe(true);
  });

  it('sets t= from the clock and x= after it', () => {
    expect(fieldOf(field)).toMatchObject({ signedAt: NOW, expiresAt: NOW + 86400, domain: 'example.com', identity: '@example.com' });
  });

  it('signs the default fields that are present, once per instance, and oversigns the single ones', () => {
    expect(fieldOf(field).headerKeys).toEqual([
      'from', 'from', 'subject', 'subject', 'date', 'date', 'message-id', 'message-id', 'to', 'to',
      'mime-version', 'mime-version', 'content-type', 'content-type',
    ]);
  });

  it('takes an explicit h= list as given, and i=', () => {
    const f = signDkim(message(), {
      domain: 'example.com', selector: 'ed', privateKey: keys.ed.privateKey, algorithm: 'ed25519-sha256', now,
      headers: ['From', 'Subject', 'X-Absent'], identity: 'alice@mail.example.com', canonicalization: 'simple/relaxed',
    });
    expect(fieldOf(f)).toMatchObject({ headerKeys: ['from', 'subject', 'x-absent'], identity: 'alice@mail.example.com', headerCanonicalization: 'simple' });
  });

  it('accepts a PEM private key', async () => {
    const pem = keys.ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const f = signDkim(message(), { domain: 'example.com', selector: 'ed', privateKey: pem, algorithm: 'ed25519-sha256', now });
    const z = zoneResolver({ 'ed._domainkey.example.com': { TXT: [keys.ed.dnsValue] } });
    expect((await verifyDkim(prepend(f, message()), z, { now }))[0]!.result).toBe('pass');
  });

  it.each([
    ['an Ed25519 key for rsa-sha256', { privateKey: keys.ed.privateKey, algorithm: 'rsa-sha256' as const }, /needs an rsa key/],
    ['an RSA key for ed25519-sha256', { privateKey: keys.rsa.privateKey, algorithm: 'ed25519-sha256' as const }, /needs an ed25519 key/],
    ['a bad domain', { domain: 'not a domain' }, /not a domain name/],
    ['h= without From', { headers: ['subject'] }, /must include From/],
  ])('refuses %s', (_name, change, error) => {
    expect(() => signDkim(message(), { domain: 'example.com', selector: 's', privateKey: keys.rsa.privateKey, algorithm: 'rsa-sha256', ...change })).toThrow(error);
  });

  it('computes the RFC 8463 A.3 body hash for its message, with both RFC 8463 A.1 keys', async () => {
    const unsigned = readFileSync(`${CORPUS}unsigned-message.eml`);
    const dns = JSON.parse(readFileSync(`${CORPUS}dns.json`, 'utf8')) as Record<string, string>;
    const seed = Buffer.from(readFileSync(`${CORPUS}ed25519-seed.b64`, 'utf8').trim(), 'base64');
    const edKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    const rsaKey = readFileSync(`${CORPUS}rsa-private.pem`, 'utf8');
    const opts = { domain: 'football.example.com', now: () => 1528637909, identity: '@football.example.com' };
    const ed = signDkim(unsigned, { ...opts, selector: 'brisbane', privateKey: edKey, algorithm: 'ed25519-sha256' });
    const rsa = signDkim(unsigned, { ...opts, selector: 'test', privateKey: rsaKey, algorithm: 'rsa-sha256' });
    for (const f of [ed, rsa]) expect(fieldOf(f).bodyHash.toString('base64')).toBe('2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=');
    const zone = zoneResolver(Object.fromEntries(Object.entries(dns).map(([k, v]) => [k, { TXT: [v] }])));
    const results = await verifyDkim(prepend(ed + rsa, unsigned), zone, { now: () => 1528637909 });
    expect(results.map((r) => [r.selector, r.result])).toEqual([
      ['brisbane', 'pass'],
      ['test', 'pass'],
    ]);
  });
});

describe('generateDkimKey', () => {
  it.each([
    ['rsa2048', 'rsa', 2048, 'rsa-sha256'],
    ['ed25519', 'ed25519', 256, 'ed25519-sha256'],
  ] as const)('%s: a record that parses back to the key, and a PEM that signs', async (algorithm, keyType, bits, a) => {
    const k = generateDkimKey({ algorithm });
    expect(k.dnsValue.startsWith(`v=DKIM1; k=${keyType}; p=`)).toBe(true);
    const parsed = parseDkimKeyRecord(k.dnsValue);
    expect(parsed.ok && [parsed.record.keyType, parsed.record.bits]).toEqual([keyType, bits]);
    expect(k.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(k.signingAlgorithm).toBe(a);
    expect(k.txtStrings.join('')).toBe(k.dnsValue);
    for (const s of k.txtStrings) expect(s.length).toBeLessThanOrEqual(255);
    const f = signDkim(message(), { domain: 'example.com', selector: 'new', privateKey: k.privateKeyPem, algorithm: a, now });
    const z = zoneResolver({ 'new._domainkey.example.com': { TXT: [k.txtStrings] } });
    expect((await verifyDkim(prepend(f, message()), z, { now }))[0]!.result).toBe('pass');
  });

  it('Ed25519: p= is the raw 32-byte key (RFC 8463 4.2)', () => {
    const p = generateDkimKey({ algorithm: 'ed25519' }).dnsValue.split('p=')[1]!;
    expect(Buffer.from(p, 'base64')).toHaveLength(32);
  });
});
