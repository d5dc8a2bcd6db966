/**
 * The MX runs SPF, DKIM, ARC and DMARC on every message: Authentication-Results is prepended
 * with our authserv-id, and the verdict is recorded with the queue row. Senders and their DNS
 * live in a real zone server; signatures are made with Kagami's signer.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthResults } from '../../../src/auth/authres/parse.js';
import { generateDkimKey } from '../../../src/auth/dkim/keygen.js';
import { signDkim } from '../../../src/auth/dkim/sign.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { startTestServer, waitForMail, type TestServer } from '../../support/server.js';
import { openSession } from '../../support/smtp.js';

const key = generateDkimKey({ algorithm: 'ed25519' });
let t: TestServer;

beforeAll(async () => {
  t = await startTestServer(
    { hostname: 'mx.example.test' },
    {
      'good.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'], A: ['192.0.2.10'] },
      '_dmarc.good.example': { TXT: ['v=DMARC1; p=reject'] },
      'sel._domainkey.good.example': { TXT: [key.dnsValue] },
      'bounces.esp.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      'victim.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'], A: ['192.0.2.20'] },
      '_dmarc.victim.example': { TXT: ['v=DMARC1; p=quarantine; sp=reject'] },
    },
  );
});
afterAll(async () => t?.stop());

function message(from: string, subject: string): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: alice@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@x>\r\n\r\nHello.\r\n`);
}

async function send(mailFrom: string, raw: Buffer, rcpt: string): Promise<string> {
  const c = await openSession(t.smtpPort);
  expect((await c.mailFrom(mailFrom)).code).toBe(250);
  expect((await c.rcptTo(rcpt)).code).toBe(250);
  const r = await c.data(raw.toString('latin1'));
  await c.quit();
  expect(r.code).toBe(250);
  return /queued as (\S+)/.exec(r.text)![1]!;
}

async function authResultsOf(rcpt: string, folder?: string) {
  const [stored] = await waitForMail(t.newDir(rcpt, folder));
  const text = stored!.toString('latin1');
  const m = /\r\nAuthentication-Results: ((?:[^\r]|\r\n[ \t])*)\r\n/.exec(text);
  expect(m, text.slice(0, 500)).not.toBeNull();
  const parsed = parseAuthResults(`Authentication-Results: ${m![1]}\r\n`);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.authResults;
}

async function verdictFor(queueId: string) {
  const store = openSqliteStore({ file: path.join(t.dataDir, 'kagami.db') });
  try {
    return (await store.listVerdicts()).find((v) => v.queueId === queueId);
  } finally {
    await store.close();
  }
}

describe('authentication at the MX', () => {
  it('aligned SPF and DKIM: spf=pass, dkim=pass, dmarc=pass, recorded', async () => {
    const raw = message('Good Sender <news@good.example>', 'aligned');
    const signed = Buffer.concat([Buffer.from(signDkim(raw, { domain: 'good.example', selector: 'sel', privateKey: key.privateKeyPem, algorithm: 'ed25519-sha256' })), raw]);
    const id = await send('news@good.example', signed, 'alice@example.test');
    const ar = await authResultsOf('alice@example.test');
    expect(ar.authservId).toBe('mx.example.test');
    const byMethod = Object.fromEntries(ar.results.map((r) => [r.method, r]));
    expect(byMethod.spf).toMatchObject({ result: 'pass' });
    expect(byMethod.spf!.properties).toContainEqual({ ptype: 'smtp', property: 'mailfrom', value: 'news@good.example' });
    expect(byMethod.dkim).toMatchObject({ result: 'pass' });
    expect(byMethod.dkim!.properties).toContainEqual({ ptype: 'header', property: 'd', value: 'good.example' });
    expect(byMethod.dmarc).toMatchObject({ result: 'pass' });
    expect(byMethod.dmarc!.properties).toContainEqual({ ptype: 'header', property: 'from', value: 'good.example' });
    expect(byMethod.arc).toMatchObject({ result: 'none' });
    const v = await verdictFor(id);
    expect(v).toMatchObject({ fromDomain: 'good.example', spfResult: 'pass', dkimResult: 'pass', dmarcResult: 'pass', arcResult: 'none', action: 'deliver' });
    expect((v!.detail as { dmarc: { policy: string; alignment: unknown } }).dmarc).toMatchObject({ policy: 'reject', alignment: { spf: true, dkim: true } });
  });

  it('a spoofed From: SPF passes for another domain, nothing aligns, dmarc=fail with the reason; p=quarantine puts it in Junk', async () => {
    const raw = message('"Victim Bank" <security@victim.example>', 'spoofed');
    const id = await send('bounce@bounces.esp.example', raw, 'bob@example.test');
    const ar = await authResultsOf('bob@example.test', 'Junk');
    const byMethod = Object.fromEntries(ar.results.map((r) => [r.method, r]));
    expect(byMethod.spf).toMatchObject({ result: 'pass' });
    expect(byMethod.dkim).toMatchObject({ result: 'none' });
    expect(byMethod.dmarc).toMatchObject({ result: 'fail' });
    expect(byMethod.dmarc!.comment).toMatch(/p=QUARANTINE/);
    const v = await verdictFor(id);
    expect(v).toMatchObject({ fromDomain: 'victim.example', dmarcResult: 'fail', spfResult: 'pass', dkimResult: 'none', action: 'quarantine' });
    const dmarc = (v!.detail as { dmarc: { reason: string; appliedPolicy: string; policyTag: string } }).dmarc;
    expect(dmarc.appliedPolicy).toBe('quarantine');
    expect(dmarc.policyTag).toBe('p');
    expect(dmarc.reason).toMatch(/bounces\.esp\.example/);
    expect(dmarc.reason).toMatch(/victim\.example/);
  });

  it('a DKIM signature broken in transit: dkim=fail with a reason, DMARC passes on aligned SPF', async () => {
    const raw = message('news@good.example', 'tampered');
    const sig = signDkim(raw, { domain: 'good.example', selector: 'sel', privateKey: key.privateKeyPem, algorithm: 'ed25519-sha256' });
    const tampered = Buffer.from(sig + raw.toString('latin1').replace('Hello.', 'Hello, changed.'), 'latin1');
    await send('news@good.example', tampered, 'carol@example.test');
    const ar = await authResultsOf('carol@example.test');
    const dkim = ar.results.find((r) => r.method === 'dkim')!;
    expect(dkim.result).toBe('fail');
    expect(dkim.reason).toMatch(/body/i);
    const dmarc = ar.results.find((r) => r.method === 'dmarc')!;
    expect(dmarc.result).toBe('pass'); // SPF still aligns
  });
});

describe('forged Authentication-Results', () => {
  it('removes a field that claims our authserv-id; keeps other hosts\' fields', async () => {
    const raw = Buffer.from(
      'Authentication-Results: mx.example.test; dmarc=pass header.from=victim.example\r\n' +
        'Authentication-Results: mx.elsewhere.example; spf=pass\r\n' +
        'From: security@victim.example\r\nSubject: forged results\r\n\r\nTrust me.\r\n',
    );
    await send('x@bounces.esp.example', raw, 'erin@example.test');
    // victim.example says p=quarantine: the message goes to Junk.
    const [stored] = await waitForMail(t.newDir('erin@example.test', 'Junk'));
    const text = stored!.toString('latin1');
    expect(text.match(/^Authentication-Results: mx\.example\.test;/gm)).toHaveLength(1);
    expect(text).not.toMatch(/dmarc=pass header\.from=victim\.example/);
    expect(text).toMatch(/^Authentication-Results: mx\.elsewhere\.example; spf=pass\r\n/m);
    expect(text).toMatch(/dmarc=fail/);
  });
});

describe('DNS trouble', () => {
  it('answers 451 4.4.3 (never a pass), in ASCII, and records the attempt', async () => {
    await t.dns.setZone({ 'down.example': { SERVFAIL: true }, '_dmarc.down.example': { SERVFAIL: true } });
    const c = await openSession(t.smtpPort);
    await c.mailFrom('x@down.example');
    await c.rcptTo('dave@example.test');
    const r = await c.data(message('x@down.example', 'dns down').toString('latin1'));
    await c.quit();
    expect(r.code).toBe(451);
    expect(r.text).toMatch(/^4\.4\.3 DNS temporary failure during the DMARC check/);
    expect([...Buffer.from(r.text)].every((b) => b < 0x80)).toBe(true);
    const store = openSqliteStore({ file: path.join(t.dataDir, 'kagami.db') });
    try {
      const v = (await store.listVerdicts({ action: 'tempfail' }))[0];
      expect(v).toMatchObject({ queueId: null, fromDomain: 'down.example', dmarcResult: 'temperror', action: 'tempfail' });
    } finally {
      await store.close();
    }
  });
});
