import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ArcSealError, sealArc, type SealArcOptions } from '../../../src/auth/arc/seal.js';
import { isTemporaryDnsCode, toMailauthResolver } from '../../../src/auth/arc/resolver.js';
import { verifyArc } from '../../../src/auth/arc/verify.js';
import type { ArcResult } from '../../../src/auth/arc/types.js';
import { zoneResolver, type ZoneData } from '../../../src/dns/zone.js';

const NOW = 1_767_225_600; // 2026-01-01T00:00:00Z

function rsaKey(): { privateKey: string; record: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: `v=DKIM1; k=rsa; p=${p}` };
}

const list = rsaKey();
const forwarder = rsaKey();

const zone: ZoneData = {
  'arc._domainkey.lists.example': { TXT: [list.record] },
  'seal._domainkey.forwarder.example': { TXT: [forwarder.record] },
  'down._domainkey.broken.example': { SERVFAIL: true },
  'slow._domainkey.broken.example': { TIMEOUT: true },
};

const ORIGINAL = Buffer.from(
  [
    'Received: from mail.author.example (mail.author.example [192.0.2.10]) by mx.lists.example; Thu, 1 Jan 2026 00:00:00 +0000',
    'From: Alice <alice@author.example>',
    'To: team@lists.example',
    'Subject: Quarterly numbers',
    'Date: Thu, 1 Jan 2026 00:00:00 +0000',
    'Message-ID: <q1@author.example>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'The numbers are in.',
    '',
  ].join('\r\n'),
);

const listSeal: SealArcOptions = {
  domain: 'lists.example',
  selector: 'arc',
  privateKey: list.privateKey,
  authservId: 'mx.lists.example',
  authResults: 'spf=pass smtp.mailfrom=author.example; dkim=pass header.d=author.example; dmarc=pass header.from=author.example',
  now: NOW,
};

const forwarderSeal: SealArcOptions = {
  domain: 'forwarder.example',
  selector: 'seal',
  privateKey: forwarder.privateKey,
  authservId: 'mx.forwarder.example',
  authResults: 'spf=fail smtp.mailfrom=lists.example; arc=pass',
  now: NOW + 60,
};

/** Prepends header fields (what a hop does) to a message. */
function prepend(message: Buffer, fields: string): Buffer {
  return Buffer.concat([Buffer.from(fields), message]);
}

/** Replaces the body of a message (what a mailing list footer does). */
function withBody(message: Buffer, body: string): Buffer {
  const text = message.toString('latin1');
  return Buffer.from(text.slice(0, text.indexOf('\r\n\r\n') + 4) + body, 'latin1');
}

async function seal(message: Buffer, options: SealArcOptions): Promise<Buffer> {
  return prepend(message, await sealArc(message, options, zoneResolver(zone)));
}

function expectPass(r: ArcResult): Extract<ArcResult, { result: 'pass' }> {
  if (r.result !== 'pass') throw new Error(`expected pass, got ${JSON.stringify(r)}`);
  return r;
}

describe('sealArc', () => {
  it('returns the three ARC header fields, newest set first, each ending in CRLF', async () => {
    const fields = await sealArc(ORIGINAL, listSeal, zoneResolver(zone));
    const names = fields.split(/\r\n(?![ \t])/).filter(Boolean).map((f) => f.slice(0, f.indexOf(':')));
    expect(names).toEqual(['ARC-Seal', 'ARC-Message-Signature', 'ARC-Authentication-Results']);
    expect(fields.endsWith('\r\n')).toBe(true);
    expect(fields).toMatch(/ARC-Seal: i=1; a=rsa-sha256; t=1767225600; cv=none;/);
    expect(fields).toContain(`ARC-Authentication-Results: i=1; mx.lists.example; ${listSeal.authResults}`);
  });

  it('does not repeat the authserv-id when the results already start with it, and writes none for no results', async () => {
    const withId = await sealArc(ORIGINAL, { ...listSeal, authResults: 'mx.lists.example; spf=pass smtp.mailfrom=author.example' }, zoneResolver(zone));
    expect(withId).toContain('ARC-Authentication-Results: i=1; mx.lists.example; spf=pass smtp.mailfrom=author.example');
    const empty = await sealArc(ORIGINAL, { ...listSeal, authResults: '' }, zoneResolver(zone));
    expect(empty).toContain('ARC-Authentication-Results: i=1; mx.lists.example; none');
  });

  it('derives cv=fail from a broken chain and still seals it (RFC 8617 5.1.1)', async () => {
    const tampered = withBody(await seal(ORIGINAL, listSeal), 'Changed.\r\n');
    const fields = await sealArc(tampered, forwarderSeal, zoneResolver(zone));
    expect(fields).toMatch(/ARC-Seal: i=2; a=rsa-sha256; t=\d+; cv=fail;/);
    const after = await verifyArc(prepend(tampered, fields), zoneResolver(zone), { now: NOW + 120 });
    expect(after).toMatchObject({ result: 'fail', failedInstance: 2 });
  });

  it('refuses to seal a chain whose newest seal already says cv=fail (RFC 8617 5.1 step 2)', async () => {
    const tampered = withBody(await seal(ORIGINAL, listSeal), 'Changed.\r\n');
    const failed = await seal(tampered, forwarderSeal);
    await expect(sealArc(failed, { ...listSeal, now: NOW + 300 }, zoneResolver(zone))).rejects.toMatchObject({ name: 'ArcSealError', code: 'EARCCHAINFAILED' });
  });

  it('refuses to guess cv= when the chain cannot be validated for now', async () => {
    const sealed = await seal(ORIGINAL, listSeal);
    const flaky = zoneResolver({ ...zone, 'arc._domainkey.lists.example': { SERVFAIL: true } });
    const err = await sealArc(sealed, forwarderSeal, flaky).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArcSealError);
    expect(err).toMatchObject({ code: 'temperror' });
  });
});

describe('verifyArc', () => {
  it('passes a sealed message and exposes the sealer', async () => {
    const sealed = await seal(ORIGINAL, listSeal);
    const r = expectPass(await verifyArc(sealed, zoneResolver(zone), { now: NOW + 10 }));
    expect(r).toMatchObject({ instances: 1, oldestPass: 0, oldestPassingSealer: 'lists.example' });
    expect(r.sealers).toEqual([
      {
        instance: 1,
        domain: 'lists.example',
        selector: 'arc',
        cv: 'none',
        amsResult: 'pass',
        asResult: 'pass',
        authResults: `mx.lists.example; ${listSeal.authResults}`,
      },
    ]);
  });

  it('passes two hops; the oldest passing sealer is the first when nothing changed in between', async () => {
    const hop1 = await seal(ORIGINAL, listSeal);
    const hop2 = await seal(prepend(hop1, 'Received: from mx.lists.example by mx.forwarder.example; Thu, 1 Jan 2026 00:01:00 +0000\r\n'), forwarderSeal);
    const r = expectPass(await verifyArc(hop2, zoneResolver(zone), { now: NOW + 120 }));
    expect(r).toMatchObject({ instances: 2, oldestPass: 0, oldestPassingSealer: 'lists.example' });
    expect(r.sealers.map((s) => [s.instance, s.domain, s.cv, s.amsResult, s.asResult])).toEqual([
      [1, 'lists.example', 'none', 'pass', 'pass'],
      [2, 'forwarder.example', 'pass', 'pass', 'pass'],
    ]);
    expect(r.sealers[1]!.authResults).toBe(`mx.forwarder.example; ${forwarderSeal.authResults}`);
  });

  it('reports oldest-pass 2 when the body changed between the two sealers', async () => {
    const hop1 = await seal(ORIGINAL, listSeal);
    const footer = withBody(hop1, 'The numbers are in.\r\n--\r\nteam mailing list\r\n');
    const hop2 = await seal(footer, { ...forwarderSeal, cv: 'pass' });
    const r = expectPass(await verifyArc(hop2, zoneResolver(zone), { now: NOW + 120 }));
    expect(r).toMatchObject({ instances: 2, oldestPass: 2, oldestPassingSealer: 'forwarder.example' });
    expect(r.sealers.map((s) => s.amsResult)).toEqual(['fail', 'pass']);
  });

  it('fails with a reason when the body is changed after sealing', async () => {
    const sealed = withBody(await seal(ORIGINAL, listSeal), 'The numbers are out.\r\n');
    const r = await verifyArc(sealed, zoneResolver(zone), { now: NOW + 10 });
    expect(r).toMatchObject({ result: 'fail', failedInstance: 1 });
    if (r.result !== 'fail') return;
    expect(r.reason).toMatch(/ARC-Message-Signature.*body hash did not verify/);
    expect(r.sealers[0]).toMatchObject({ domain: 'lists.example', amsResult: 'fail', asResult: 'unchecked' });
  });

  it('fails when an older set is changed (the newest seal no longer validates)', async () => {
    const hop1 = await seal(ORIGINAL, listSeal);
    const hop2 = await seal(hop1, forwarderSeal);
    const forged = Buffer.from(hop2.toString('latin1').replace('dkim=pass header.d=author.example', 'dkim=pass header.d=bank.example'), 'latin1');
    const r = await verifyArc(forged, zoneResolver(zone), { now: NOW + 120 });
    expect(r).toMatchObject({ result: 'fail', failedInstance: 2 });
    if (r.result !== 'fail') return;
    expect(r.reason).toMatch(/ARC-Seal: i=2 seal signature validation failed/);
    expect(r.sealers.map((s) => s.asResult)).toEqual(['unchecked', 'fail']);
  });

  it('fails when the key record is gone (permanent, not temperror)', async () => {
    const sealed = await seal(ORIGINAL, listSeal);
    const r = await verifyArc(sealed, zoneResolver({}), { now: NOW + 10 });
    expect(r).toMatchObject({ result: 'fail', failedInstance: 1 });
  });

  it.each([
    ['SERVFAIL', { SERVFAIL: true }],
    ['timeout', { TIMEOUT: true }],
  ] as const)('is temperror when the key lookup fails temporarily (%s)', async (_label, entry) => {
    const sealed = await seal(ORIGINAL, listSeal);
    const r = await verifyArc(sealed, zoneResolver({ 'arc._domainkey.lists.example': entry }), { now: NOW + 10 });
    expect(r.result).toBe('temperror');
    if (r.result === 'temperror') expect(r.reason).toMatch(/i=1 ARC-Message-Signature: temperror/);
  });

  it('is temperror when only the seal key lookup fails temporarily', async () => {
    const hop1 = await seal(ORIGINAL, listSeal);
    const hop2 = await seal(hop1, forwarderSeal);
    // The newest AMS (forwarder key) validates; the i=1 seal's key cannot be fetched.
    const r = await verifyArc(hop2, zoneResolver({ ...zone, 'arc._domainkey.lists.example': { SERVFAIL: true } }), { now: NOW + 120 });
    expect(r).toMatchObject({ result: 'temperror' });
    if (r.result === 'temperror') expect(r.reason).toMatch(/ARC-Seal: .*ESERVFAIL/);
  });

  it('is none for a message without ARC header fields', async () => {
    const dns = zoneResolver(zone);
    expect(await verifyArc(ORIGINAL, dns)).toEqual({ result: 'none', reason: 'no ARC header fields' });
    expect(dns.calls).toEqual([]);
  });

  it('does not verify DKIM-Signatures (Kagami has its own DKIM): no key lookup for them', async () => {
    const signed = prepend(ORIGINAL, 'DKIM-Signature: v=1; a=rsa-sha256; d=author.example; s=k1; c=relaxed/relaxed; h=from:to:subject; bh=AAAA; b=AAAA\r\n');
    const sealed = await seal(signed, listSeal);
    const dns = zoneResolver(zone);
    expectPass(await verifyArc(sealed, dns, { now: NOW + 10 }));
    expect(dns.calls.map((c) => c.name)).toEqual(['arc._domainkey.lists.example']);
  });
});

describe('toMailauthResolver', () => {
  const dns = toMailauthResolver(
    zoneResolver({
      'txt.example': { TXT: ['v=DKIM1; p=abc', ['split ', 'record']], MX: [{ exchange: 'MX.Example.', preference: 10 }] },
      'servfail.example': { SERVFAIL: true },
      'timeout.example': { TIMEOUT: true },
    }),
  );

  it('answers TXT as one array per record (the port has joined the character-strings) and MX as node:dns does', async () => {
    expect(await dns('txt.example', 'TXT')).toEqual([['v=DKIM1; p=abc'], ['split record']]);
    expect(await dns('txt.example', 'MX')).toEqual([{ exchange: 'mx.example', priority: 10 }]);
  });

  it.each([
    ['nope.example', 'TXT', 'ENOTFOUND'],
    ['txt.example', 'A', 'ENODATA'],
    ['servfail.example', 'TXT', 'ESERVFAIL'],
    ['timeout.example', 'TXT', 'ETIMEOUT'],
    ['txt.example', 'SRV', 'ENOTIMP'],
  ])('%s %s rejects with %s', async (name, type, code) => {
    await expect(dns(name, type)).rejects.toMatchObject({ code });
  });

  it('classifies only the "could not find out" codes as temporary', () => {
    expect(['ETIMEOUT', 'ESERVFAIL'].map(isTemporaryDnsCode)).toEqual([true, true]);
    expect(['ENOTFOUND', 'ENODATA', 'ENOTIMP', undefined].map(isTemporaryDnsCode)).toEqual([false, false, false, false]);
  });
});
