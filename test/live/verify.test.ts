/**
 * `kagami dkim keygen` and `kagami verify` as an operator runs them: a key made by the CLI,
 * published in a real DNS zone, signs a message that `kagami verify` then checks end to end.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDkim } from '../../src/auth/dkim/sign.js';
import { startZoneServer, type ZoneServer } from '../../src/dns/zone-server.js';
import { kagamiCommand } from '../support/live.js';
import { tempDir } from '../support/server.js';

let dns: ZoneServer;
let dataDir: string;
let keyFile: string;
let signed: string;
const NOW = 1_796_000_000;

beforeAll(async () => {
  dataDir = tempDir('kagami-verify-');
  const r = await kagamiCommand(['dkim', 'keygen', '--selector', '2026-12', '--domain', 'Shop.Example', '--algorithm', 'ed25519', '--json', '--data', dataDir]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const key = JSON.parse(r.stdout) as { domain: string; selector: string; algorithm: string; name: string; value: string; file: string };
  expect(key).toMatchObject({ domain: 'shop.example', selector: '2026-12', algorithm: 'ed25519', name: '2026-12._domainkey.shop.example' });
  expect(key.value).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  keyFile = path.join(dataDir, 'keys', 'shop.example', '2026-12.pem');
  expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  dns = await startZoneServer({
    'shop.example': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'], MX: [{ exchange: 'mx.shop.example', preference: 10 }] },
    '_dmarc.shop.example': { TXT: ['v=DMARC1; p=reject; rua=mailto:dmarc@shop.example'] },
    [key.name]: { TXT: [key.value] },
    'esp.example': { TXT: ['v=spf1 ip4:203.0.113.0/24 -all'] },
  });
  const message = Buffer.from('From: Shop <orders@shop.example>\r\nTo: you@example.test\r\nSubject: Your order\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nMessage-ID: <o1@shop.example>\r\n\r\nThanks for your order.\r\n');
  signed = signDkim(message, { domain: 'shop.example', selector: '2026-12', privateKey: readFileSync(keyFile, 'utf8'), algorithm: 'ed25519-sha256', now: () => NOW, expiresInSeconds: 86_400 }) + message.toString('latin1');
});
afterAll(async () => dns?.close());

function messageFile(text: string): string {
  const file = path.join(tempDir('kagami-verify-msg-'), 'message.eml');
  writeFileSync(file, text, 'latin1');
  return file;
}

describe('kagami dkim keygen', () => {
  it('prints the zone line to publish, and refuses a selector that already exists', async () => {
    const r = await kagamiCommand(['dkim', 'keygen', '--selector', 'rsa1', '--domain', 'shop.example', '--data', dataDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pending: waits for rotation/); // the domain's first key is the ed25519 one
    expect(r.stdout).toMatch(/^rsa1\._domainkey\.shop\.example\. IN TXT "v=DKIM1; k=rsa; p=[^"]+"( "[^"]+")*$/m);
    const again = await kagamiCommand(['dkim', 'keygen', '--selector', 'rsa1', '--domain', 'shop.example', '--data', dataDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/KGM-DKIM-KEY-EXISTS/);
  });
});

describe('kagami verify', () => {
  it('passes a signed message from an allowed IP: spf, dkim (aligned) and dmarc pass, with the header line', async () => {
    const r = await kagamiCommand(['verify', messageFile(signed), '--ip', '198.51.100.7', '--helo', 'mx.shop.example', '--mail-from', 'bounces@shop.example', '--dns', dns.address, '--now', String(NOW + 60), '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.spf).toMatchObject({ result: 'pass', domain: 'shop.example', lookups: 0 });
    expect(Array.isArray(v.spf.trace)).toBe(true);
    expect(v.dkim).toEqual([expect.objectContaining({ result: 'pass', domain: 'shop.example', selector: '2026-12', algorithm: 'ed25519-sha256', aligned: true })]);
    expect(v.arc.result).toBe('none');
    expect(v.dmarc).toMatchObject({
      result: 'pass',
      fromDomain: 'shop.example',
      policyDomain: 'shop.example',
      // Exact alignment needs no Organizational Domain lookup, so none is made (null).
      organizationalDomain: null,
      policyTag: 'p',
      policy: 'reject',
      testing: false,
      appliedPolicy: 'none',
      alignment: { spf: true, dkim: true },
    });
    expect(v.authenticationResults).toMatch(/^Authentication-Results: mx\.localhost\.test;/);
    expect(v.authenticationResults).toMatch(/dmarc=pass/);
  });

  it('explains a spoof: SPF of another domain, no aligned DKIM, p=reject applies', async () => {
    const spoof = 'From: Shop <orders@shop.example>\r\nSubject: Reset your password\r\n\r\nClick here.\r\n';
    const file = messageFile(spoof);
    const r = await kagamiCommand(['verify', file, '--ip', '203.0.113.9', '--helo', 'esp.example', '--mail-from', 'x@esp.example', '--dns', dns.address, '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.spf.result).toBe('pass');
    expect(v.dkim).toEqual([]);
    expect(v.dmarc).toMatchObject({ result: 'fail', policyTag: 'p', policy: 'reject', appliedPolicy: 'reject', alignment: { spf: false, dkim: false } });
    expect(v.dmarc.reason).toMatch(/esp\.example/);
    const text = await kagamiCommand(['verify', file, '--ip', '203.0.113.9', '--helo', 'esp.example', '--mail-from', 'x@esp.example', '--dns', dns.address]);
    expect(text.stdout).toMatch(/^DMARC  fail .*p=reject → reject/m);
  });

  it("checks HELO for the null reverse-path (--mail-from '')", async () => {
    const r = await kagamiCommand(['verify', messageFile(signed), '--ip', '198.51.100.7', '--helo', 'shop.example', '--mail-from', '', '--dns', dns.address, '--now', String(NOW), '--json']);
    expect(r.code).toBe(0);
    const v = JSON.parse(r.stdout);
    expect(v.spf).toMatchObject({ result: 'pass', identity: 'helo', domain: 'shop.example' });
    expect(v.dmarc.alignment.spf).toBe(false); // DMARC uses MAIL FROM only (RFC 9989 4.4.2)
    expect(v.dmarc.result).toBe('pass'); // DKIM still aligns
  });

  it('fails an expired signature when --now is past x=', async () => {
    const r = await kagamiCommand(['verify', messageFile(signed), '--ip', '198.51.100.7', '--helo', 'mx.shop.example', '--mail-from', 'b@shop.example', '--dns', dns.address, '--now', String(NOW + 2 * 86_400), '--json']);
    const v = JSON.parse(r.stdout);
    expect(v.dkim[0].result).not.toBe('pass');
    expect(v.dkim[0].reason).toMatch(/expire/i);
  });

  it('exits non-zero with a coded error for a missing option or an unreadable file', async () => {
    const missing = await kagamiCommand(['verify', messageFile(signed), '--ip', '198.51.100.7', '--dns', dns.address]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/KGM-VERIFY-USAGE: .*--helo, --mail-from/);
    const unreadable = await kagamiCommand(['verify', '/nonexistent/message.eml', '--ip', '192.0.2.1', '--helo', 'h.example', '--mail-from', 'a@b.example', '--dns', dns.address]);
    expect(unreadable.code).not.toBe(0);
    expect(unreadable.stderr).toMatch(/KGM-VERIFY-INPUT/);
  });
});
