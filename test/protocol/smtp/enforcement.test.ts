/**
 * DMARC enforcement at the MX, end to end over SMTP with a real DNS zone server:
 * p=none / quarantine / reject × aligned or unaligned SPF × aligned or unaligned DKIM, and mail
 * forwarded by a list that breaks DKIM and seals ARC, with and without
 * `policy.trusted_arc_sealers`. For each: the reply, the folder (INBOX, .Junk or nowhere), the
 * fields prepended, the verdict row and, for quarantine, the index row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealArc } from '../../../src/auth/arc/seal.js';
import { parseAuthResults } from '../../../src/auth/authres/parse.js';
import { generateDkimKey } from '../../../src/auth/dkim/keygen.js';
import { zoneResolver, type ZoneData } from '../../../src/dns/zone.js';
import {
  arcKey,
  dkimSigned,
  headerValue,
  landed,
  message,
  policyDetail,
  prependedFields,
  quarantineFor,
  send,
  verdictFor,
  type Folder,
} from '../../support/enforcement.js';
import { startTestServer, type TestServer } from '../../support/server.js';

type Policy = 'none' | 'quarantine' | 'reject';
const POLICIES: Policy[] = ['none', 'quarantine', 'reject'];
const authorOf = (p: Policy) => `p${p}.example`;

const authorKey = generateDkimKey({ algorithm: 'ed25519' });
const espKey = generateDkimKey({ algorithm: 'ed25519' });
const listKey = arcKey();

const zone: ZoneData = {
  // An ESP that sends for anyone: its SPF passes and its DKIM verifies, aligned with nobody else.
  'esp.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'], A: ['192.0.2.40'] },
  'sel._domainkey.esp.example': { TXT: [espKey.dnsValue] },
  // A mailing list that rewrites bodies and seals ARC.
  'lists.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'], A: ['192.0.2.50'] },
  'arc._domainkey.lists.example': { TXT: [listKey.record] },
};
for (const p of POLICIES) {
  zone[authorOf(p)] = { TXT: ['v=spf1 ip4:127.0.0.1 -all'], A: ['192.0.2.10'] };
  zone[`_dmarc.${authorOf(p)}`] = { TXT: [`v=DMARC1; p=${p}`] };
  zone[`sel._domainkey.${authorOf(p)}`] = { TXT: [authorKey.dnsValue] };
}

interface Expected {
  code: 250 | 550;
  folder: Folder;
  action: 'deliver' | 'quarantine' | 'reject';
  dmarc: 'pass' | 'fail';
  override: 'trusted_forwarder' | null;
  shadow: 'quarantine' | 'reject' | null;
}

interface Case {
  name: string;
  rcpt: string;
  trusting: boolean;
  mailFrom: string;
  raw: () => Promise<Buffer>;
  expected: Expected;
}

/** What the author's policy does to a DMARC fail (with the default shadow policy: all on). */
function failure(p: Policy): Expected {
  switch (p) {
    case 'none':
      return { code: 250, folder: 'INBOX', action: 'deliver', dmarc: 'fail', override: null, shadow: 'reject' };
    case 'quarantine':
      return { code: 250, folder: 'Junk', action: 'quarantine', dmarc: 'fail', override: null, shadow: 'reject' };
    case 'reject':
      return { code: 550, folder: 'nowhere', action: 'reject', dmarc: 'fail', override: null, shadow: null };
  }
}

const PASS: Expected = { code: 250, folder: 'INBOX', action: 'deliver', dmarc: 'pass', override: null, shadow: null };

function original(p: Policy, subject: string): Buffer {
  return message([`From: Author <news@${authorOf(p)}>`, 'To: someone@example.test', `Subject: ${subject}`, `Message-ID: <${subject.replace(/\W/g, '')}@x>`], 'Hello from the author.\r\n');
}

const cases: Case[] = [];
for (const p of POLICIES) {
  for (const spf of ['aligned', 'unaligned'] as const) {
    for (const dkim of ['aligned', 'unaligned'] as const) {
      const name = `p=${p}, SPF ${spf}, DKIM ${dkim}`;
      const rcpt = `${p}-spf-${spf}-dkim-${dkim}@example.test`;
      cases.push({
        name,
        rcpt,
        trusting: false,
        mailFrom: spf === 'aligned' ? `bounce@${authorOf(p)}` : 'bounce@esp.example',
        raw: async () => {
          const raw = original(p, name);
          return dkim === 'aligned' ? dkimSigned(raw, authorOf(p), authorKey.privateKeyPem) : dkimSigned(raw, 'esp.example', espKey.privateKeyPem);
        },
        expected: spf === 'aligned' || dkim === 'aligned' ? PASS : failure(p),
      });
    }
  }
  for (const trusting of [true, false]) {
    const name = `p=${p}, forwarded by a list that seals ARC, sealer ${trusting ? 'trusted' : 'not trusted'}`;
    cases.push({
      name,
      rcpt: `${p}-arc-${trusting ? 'trusted' : 'untrusted'}@example.test`,
      trusting,
      // The list's own MAIL FROM: SPF passes for lists.example, not for the author.
      mailFrom: 'team-bounces@lists.example',
      raw: async () => {
        // The author signs; the list adds a footer (the author's DKIM breaks), then seals.
        const signed = dkimSigned(original(p, name), authorOf(p), authorKey.privateKeyPem).toString('latin1');
        const modified = Buffer.from(signed.replace('Hello from the author.\r\n', 'Hello from the author.\r\n-- \r\nteam mailing list\r\n'), 'latin1');
        const seal = await sealArc(
          modified,
          {
            domain: 'lists.example',
            selector: 'arc',
            privateKey: listKey.privateKey,
            authservId: 'mx.lists.example',
            authResults: `spf=pass smtp.mailfrom=${authorOf(p)}; dkim=pass header.d=${authorOf(p)}; dmarc=pass header.from=${authorOf(p)}`,
          },
          zoneResolver(zone),
        );
        return Buffer.concat([Buffer.from(seal, 'latin1'), modified]);
      },
      // A trusted sealer overrides quarantine and reject (RFC 9990 trusted_forwarder); p=none
      // delivers anyway, and a stricter (shadow) policy would keep the override too.
      expected: trusting
        ? { code: 250, folder: 'INBOX', action: 'deliver', dmarc: 'fail', override: p === 'none' ? null : 'trusted_forwarder', shadow: null }
        : failure(p),
    });
  }
}

let plain: TestServer;
let trusting: TestServer;

beforeAll(async () => {
  [plain, trusting] = await Promise.all([
    startTestServer({ hostname: 'mx.example.test' }, zone),
    startTestServer({ hostname: 'mx.example.test', policy: { trusted_arc_sealers: ['lists.example'] } }, zone),
  ]);
});
afterAll(async () => {
  await plain?.stop();
  await trusting?.stop();
});

describe('DMARC enforcement over SMTP', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const t = c.trusting ? trusting : plain;
    const e = c.expected;
    const author = c.rcpt.split('-')[0] as Policy;
    const reply = await send(t, { mailFrom: c.mailFrom, rcpt: c.rcpt }, await c.raw());

    expect(reply.code).toBe(e.code);
    if (e.code === 250) expect(reply.text).toMatch(/^2\.0\.0 Ok: queued as \S+$/);
    else expect(reply.text).toMatch(new RegExp(`^5\\.7\\.1 DMARC policy of ${authorOf(author).replace('.', '\\.')} is reject: neither SPF \\(`));

    const where = await landed(t, c.rcpt, e.code === 250);
    expect(where.folder).toBe(e.folder);

    const v = await verdictFor(t, c.rcpt);
    expect(v, 'verdict row').toBeDefined();
    expect(v).toMatchObject({ fromDomain: authorOf(author), action: e.action, dmarcResult: e.dmarc, queueId: e.code === 250 ? expect.any(String) : null });
    if (c.trusting || c.mailFrom.endsWith('lists.example')) expect(v!.arcResult).toBe('pass');
    const policy = policyDetail(v!);
    expect(policy.action).toBe(e.action);
    expect(policy.override?.type ?? null).toBe(e.override);
    if (e.override) expect(policy.override!.comment).toMatch(/ARC chain passes and its sealer lists\.example is trusted/);
    expect(policy.shadow?.action ?? null).toBe(e.shadow);

    if (where.text === null) return;
    const text = where.text;
    const quarantined = e.folder === 'Junk';
    expect(prependedFields(text)).toEqual(['Return-Path', ...(quarantined ? ['Kagami-Quarantine'] : []), 'Authentication-Results', 'Received']);
    const ar = parseAuthResults(`Authentication-Results: ${headerValue(text, 'Authentication-Results')}\r\n`);
    if (!ar.ok) throw new Error(ar.reason);
    expect(ar.authResults.authservId).toBe('mx.example.test');
    const dmarc = ar.authResults.results.find((r) => r.method === 'dmarc')!;
    expect(dmarc.result).toBe(e.dmarc);
    expect(dmarc.properties).toContainEqual({ ptype: 'header', property: 'from', value: authorOf(author) });
    if (c.mailFrom.endsWith('lists.example')) expect(ar.authResults.results.find((r) => r.method === 'arc')?.result).toBe('pass');
    const kq = headerValue(text, 'Kagami-Quarantine');
    if (quarantined) {
      expect(kq).toMatch(/^dmarc; policy=quarantine; reason="neither SPF \([^"]*p=quarantine from _dmarc\.pquarantine\.example"$/);
      const q = await quarantineFor(t, c.rcpt);
      expect(q).toMatchObject({ queueId: v!.queueId, fromDomain: authorOf(author), state: 'held', headerFrom: `Author <news@${authorOf(author)}>` });
    } else {
      expect(kq).toBeNull();
      expect(await quarantineFor(t, c.rcpt)).toBeUndefined();
    }
  });
});
