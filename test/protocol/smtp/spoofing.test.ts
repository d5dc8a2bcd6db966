/**
 * Spoofing tricks from the literature, sent over SMTP to a real Kagami with a real DNS zone.
 * Every one must be refused (5xx) or quarantined, never delivered to INBOX: the domain judged is
 * the addr-spec's, whatever display names, comments, encoded words, quoted local parts, Sender,
 * look-alike identifiers or forged ARC sets pretend.
 *
 * Sources: Chen, Paxson, Jiang, "Composition Kills: A Case Study of Email Sender Authentication"
 * (USENIX Security 2020: multiple From, several addresses, encoded words, quoted local parts,
 * comments, whitespace around header names); Shen et al., "Weak Links in Authentication Chains"
 * (USENIX Security 2021: Sender vs From, subdomains, look-alike identifiers); CERT VU#517845
 * (2024: "<attacker>:<victim>" From syntax); RFC 9989 §11.4 (display names), §11.5 (multiple
 * From), §3.2.13 (np); RFC 8617 9 (ARC: only trusted sealers count).
 *
 * The server trusts the ARC sealer lists.example and the mailing list lists.example, and
 * 127.0.0.1's PTR is a look-alike of the trusted forwarder fwd.example: the tricks that aim at
 * those overrides run against a configuration that has them. A second server, whose PTR names
 * the trusted forwarder without the forward lookup to confirm it, takes one case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealArc } from '../../../src/auth/arc/seal.js';
import { generateDkimKey } from '../../../src/auth/dkim/keygen.js';
import { zoneResolver, type ZoneData } from '../../../src/dns/zone.js';
import { arcKey, dkimSigned, landed, message, policyDetail, send, verdictFor } from '../../support/enforcement.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const evilKey = generateDkimKey({ algorithm: 'ed25519' });
const lookalikeKey = generateDkimKey({ algorithm: 'ed25519' });
const evilArc = arcKey();
const lookalikeArc = arcKey();

const ATTACKER_SPF = { TXT: ['v=spf1 ip4:127.0.0.1 -all'], A: ['203.0.113.66'] };
const BANK_SPF = { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'], A: ['192.0.2.10'] };

const zone: ZoneData = {
  // Victims: p=reject, their SPF does not cover the attacker (127.0.0.1).
  'bank.example': BANK_SPF,
  '_dmarc.bank.example': { TXT: ['v=DMARC1; p=reject'] },
  'alerts.bank.example': { A: ['192.0.2.11'] },
  'paypal.example': BANK_SPF,
  '_dmarc.paypal.example': { TXT: ['v=DMARC1; p=reject'] },
  // p=quarantine for existing subdomains, np=reject for names that do not exist.
  'corp.example': BANK_SPF,
  '_dmarc.corp.example': { TXT: ['v=DMARC1; p=quarantine; np=reject'] },
  // The attacker's own domain: aligned SPF and DKIM, p=quarantine.
  'evil.test': ATTACKER_SPF,
  '_dmarc.evil.test': { TXT: ['v=DMARC1; p=quarantine'] },
  'sel._domainkey.evil.test': { TXT: [evilKey.dnsValue] },
  'arc._domainkey.evil.test': { TXT: [evilArc.record] },
  'arc._domainkey.lists.example.evil.test': { TXT: [lookalikeArc.record] },
  // A bulk mailer that sends for anyone (no DMARC record).
  'esp.test': ATTACKER_SPF,
  // Look-alikes with valid SPF and DKIM of their own.
  'bank-example.test': ATTACKER_SPF,
  'sel._domainkey.bank-example.test': { TXT: [lookalikeKey.dnsValue] },
  'evilbank.example': ATTACKER_SPF,
  'sel._domainkey.evilbank.example': { TXT: [lookalikeKey.dnsValue] },
  // A Public Suffix Domain (psd=y), the victim and the attacker registered under it.
  '_dmarc.co.example': { TXT: ['v=DMARC1; p=none; psd=y'] },
  'bank.co.example': BANK_SPF,
  '_dmarc.bank.co.example': { TXT: ['v=DMARC1; p=reject'] },
  'evil.co.example': ATTACKER_SPF,
  'sel._domainkey.evil.co.example': { TXT: [lookalikeKey.dnsValue] },
  // The real list (only its key is needed: the attacker does not have the private half).
  'lists.example': { TXT: ['v=spf1 ip4:192.0.2.50 -all'] },
  'arc._domainkey.lists.example': { TXT: [arcKey().record] },
  // 127.0.0.1's PTR: a look-alike of the trusted forwarder fwd.example.
  '1.0.0.127.in-addr.arpa': { PTR: ['mx.fwd.example.evil.test'] },
};

// The second server: the PTR names a host of the trusted forwarder, but that host's address is
// not 127.0.0.1 (no forward confirmation, RFC 8601 3 "iprev").
const ptrZone: ZoneData = {
  ...zone,
  '1.0.0.127.in-addr.arpa': { PTR: ['mx.fwd.example'] },
  'mx.fwd.example': { A: ['192.0.2.99'] },
};

const POLICY = { trusted_arc_sealers: ['lists.example'], mailing_lists: ['lists.example'], trusted_forwarders: ['fwd.example'] };

type Outcome = 'rejected' | 'quarantined' | 'delivered' | 'tempfailed';

interface Spoof {
  name: string;
  mailFrom: string;
  helo?: string;
  raw: () => Buffer | Promise<Buffer>;
  expected: 'rejected' | 'quarantined';
  /** The domain DMARC must have judged (the verdict's fromDomain); null for a refused From. */
  judged: string | null;
  /** The reply text for a refusal. */
  reply?: RegExp;
  server?: 'unconfirmed-ptr';
}

const BODY = 'Please wire the funds today.\r\n';
const spoofed = (from: string, extra: string[] = []) => message([`From: ${from}`, 'To: you@example.test', 'Subject: urgent', ...extra], BODY);
const fromInvalid = /^5\.7\.1 the message must have exactly one From address: /;
const rejectedBy = (domain: string) => new RegExp(`^5\\.7\\.1 DMARC policy of ${domain.replace(/\./g, '\\.')} is reject: `);

/** A spoofed message with an ARC set made by the attacker, whose AAR claims everything passed. */
async function arcSealed(domain: string, privateKey: string): Promise<Buffer> {
  const raw = spoofed('CEO <ceo@bank.example>');
  const seal = await sealArc(
    raw,
    { domain, selector: 'arc', privateKey, authservId: `mx.${domain}`, authResults: 'spf=pass smtp.mailfrom=bank.example; dkim=pass header.d=bank.example; dmarc=pass header.from=bank.example', cv: 'none' },
    zoneResolver(zone),
  );
  return Buffer.concat([Buffer.from(seal, 'latin1'), raw]);
}

const cases: Spoof[] = [
  // Display names (RFC 9989 §11.4): only the addr-spec counts.
  { name: 'display name "paypal.example" on an address of another domain: that domain is judged', mailFrom: 'bounce@esp.test', raw: () => spoofed('"paypal.example" <service@evil.test>'), expected: 'quarantined', judged: 'evil.test' },
  { name: 'display name is an aligned address, the angle-addr is the victim', mailFrom: 'bounce@evil.test', raw: () => dkimSigned(spoofed('"service@evil.test" <service@paypal.example>'), 'evil.test', evilKey.privateKeyPem), expected: 'rejected', judged: 'paypal.example', reply: rejectedBy('paypal.example') },
  { name: 'unquoted address as display name before the angle-addr', mailFrom: 'bounce@evil.test', raw: () => spoofed('service@evil.test <service@paypal.example>'), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'quoted "ceo@bank.example" display name on an attacker address (judged on evil.test)', mailFrom: 'bounce@esp.test', raw: () => spoofed('"ceo@bank.example" <a@evil.test>'), expected: 'quarantined', judged: 'evil.test' },
  // Encoded words, comments and quoted local parts (Composition Kills §5).
  { name: 'RFC 2047 encoded word display name hiding an attacker address', mailFrom: 'bounce@evil.test', raw: () => spoofed('=?utf-8?q?security=40evil.test?= <security@bank.example>'), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'the whole address as an RFC 2047 encoded word (no addr-spec)', mailFrom: 'bounce@evil.test', raw: () => spoofed('=?utf-8?b?Y2VvQGJhbmsuZXhhbXBsZQ==?='), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'comment holding an attacker address after the victim address', mailFrom: 'bounce@evil.test', raw: () => spoofed('security@bank.example (security@evil.test)'), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'comment inside the addr-spec', mailFrom: 'bounce@evil.test', raw: () => spoofed('security@(evil.test)bank.example'), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'quoted local part containing "@evil.test"', mailFrom: 'bounce@evil.test', raw: () => dkimSigned(spoofed('"security@evil.test"@bank.example'), 'evil.test', evilKey.privateKeyPem), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'upper-case victim domain', mailFrom: 'bounce@evil.test', raw: () => spoofed('CEO <CEO@BANK.EXAMPLE>'), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'victim domain with a trailing dot', mailFrom: 'bounce@evil.test', raw: () => spoofed('CEO <ceo@bank.example.>'), expected: 'rejected', judged: null, reply: fromInvalid },
  // Several From fields or addresses (RFC 9989 §11.5, RFC 5322 3.6).
  { name: 'two From fields (attacker first)', mailFrom: 'bounce@evil.test', raw: () => dkimSigned(message(['From: a@evil.test', 'From: ceo@bank.example', 'Subject: urgent'], BODY), 'evil.test', evilKey.privateKeyPem), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'two From fields (victim first)', mailFrom: 'bounce@evil.test', raw: () => message(['From: ceo@bank.example', 'From: a@evil.test', 'Subject: urgent'], BODY), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'second From field spelled "fROM :" (case, space before the colon)', mailFrom: 'bounce@evil.test', raw: () => message(['From: a@evil.test', 'fROM : ceo@bank.example', 'Subject: urgent'], BODY), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'no From field (only Sender)', mailFrom: 'bounce@evil.test', raw: () => message(['Sender: ceo@bank.example', 'Subject: urgent'], BODY), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'one From field, two addresses in different domains', mailFrom: 'bounce@evil.test', raw: () => spoofed('a@evil.test, CEO <ceo@bank.example>'), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'CERT VU#517845: "<attacker>:<victim>" (group syntax misuse)', mailFrom: 'bounce@evil.test', raw: () => dkimSigned(spoofed('<a@evil.test>:<ceo@bank.example>'), 'evil.test', evilKey.privateKeyPem), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'CERT VU#517845: quoted attacker, then the victim after a colon', mailFrom: 'bounce@evil.test', raw: () => dkimSigned(spoofed('"a@evil.test"<a@evil.test>:ceo@bank.example'), 'evil.test', evilKey.privateKeyPem), expected: 'rejected', judged: null, reply: fromInvalid },
  { name: 'a group of two addresses in different domains', mailFrom: 'bounce@evil.test', raw: () => spoofed('Staff: a@evil.test, ceo@bank.example;'), expected: 'rejected', judged: null, reply: fromInvalid },
  // Whitespace around the header name: a From a client may display, Kagami must see (or refuse).
  { name: 'the only From is the first line, indented (" From: ceo@bank.example")', mailFrom: 'bounce@evil.test', raw: () => message([' From: ceo@bank.example', 'Subject: urgent'], BODY), expected: 'rejected', judged: null, reply: fromInvalid },
  // Sender and envelope identities are not the author (RFC 9989 §4.4).
  { name: 'Sender aligned (SPF and DKIM of evil.test), From spoofed', mailFrom: 'bulk@evil.test', raw: () => dkimSigned(spoofed('CEO <ceo@bank.example>', ['Sender: bulk@evil.test']), 'evil.test', evilKey.privateKeyPem), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'SPF passes for an unaligned MAIL FROM domain', mailFrom: 'bounce@evil.test', raw: () => spoofed('CEO <ceo@bank.example>'), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'null reverse-path, EHLO names the victim', mailFrom: '', helo: 'bank.example', raw: () => spoofed('CEO <ceo@bank.example>'), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  // Subdomains (RFC 9989 §4.10.1, §3.2.13).
  { name: 'existing subdomain of a p=reject domain without its own record (tree walk)', mailFrom: 'bounce@evil.test', raw: () => spoofed('Alerts <alerts@alerts.bank.example>'), expected: 'rejected', judged: 'alerts.bank.example', reply: rejectedBy('bank.example') },
  { name: 'non-existent subdomain under np=reject (p=quarantine)', mailFrom: 'bounce@evil.test', raw: () => spoofed('IT <it@helpdesk.corp.example>'), expected: 'rejected', judged: 'helpdesk.corp.example', reply: rejectedBy('corp.example') },
  // Look-alike identifiers with valid SPF and DKIM of their own.
  { name: 'DKIM d=bank-example.test (look-alike) signs From bank.example', mailFrom: 'bounce@bank-example.test', raw: () => dkimSigned(spoofed('CEO <ceo@bank.example>'), 'bank-example.test', lookalikeKey.privateKeyPem), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'SPF and DKIM of evilbank.example (suffix look-alike)', mailFrom: 'bounce@evilbank.example', raw: () => dkimSigned(spoofed('CEO <ceo@bank.example>'), 'evilbank.example', lookalikeKey.privateKeyPem), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'SPF and DKIM of a sibling under a public suffix (evil.co.example for bank.co.example)', mailFrom: 'bounce@evil.co.example', raw: () => dkimSigned(spoofed('CEO <ceo@bank.co.example>'), 'evil.co.example', lookalikeKey.privateKeyPem), expected: 'rejected', judged: 'bank.co.example', reply: rejectedBy('bank.co.example') },
  // Forged overrides (RFC 8617 9.2; RFC 2919 List-Id is not authenticated).
  { name: 'ARC set by an untrusted sealer (evil.test) whose AAR claims dmarc=pass', mailFrom: 'bounce@evil.test', raw: () => arcSealed('evil.test', evilArc.privateKey), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'ARC set by a look-alike of the trusted sealer (lists.example.evil.test)', mailFrom: 'bounce@evil.test', raw: () => arcSealed('lists.example.evil.test', lookalikeArc.privateKey), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'ARC set claiming d=lists.example, signed with the attacker key (arc=fail)', mailFrom: 'bounce@evil.test', raw: () => arcSealed('lists.example', evilArc.privateKey), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'PTR look-alike of the trusted forwarder (mx.fwd.example.evil.test)', mailFrom: 'bounce@evil.test', raw: () => spoofed('CEO <ceo@bank.example>', ['X-Case: ptr']), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'List-Id of a look-alike of the trusted list', mailFrom: 'bounce@evil.test', raw: () => spoofed('CEO <ceo@bank.example>', ['List-Id: Team <team.lists.example.evil.test>']), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'forged List-Id of the trusted list, sent by neither the list nor its servers', mailFrom: 'bounce@evil.test', raw: () => spoofed('CEO <ceo@bank.example>', ['List-Id: Team <team.lists.example>']), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example') },
  { name: 'PTR names a host of the trusted forwarder, not forward-confirmed', mailFrom: 'bounce@evil.test', raw: () => spoofed('CEO <ceo@bank.example>'), expected: 'rejected', judged: 'bank.example', reply: rejectedBy('bank.example'), server: 'unconfirmed-ptr' },
];

let t: TestServer;
let ptrServer: TestServer;
beforeAll(async () => {
  [t, ptrServer] = await Promise.all([
    startTestServer({ hostname: 'mx.example.test', policy: POLICY }, zone),
    startTestServer({ hostname: 'mx.example.test', policy: POLICY }, ptrZone),
  ]);
});
afterAll(async () => {
  await t?.stop();
  await ptrServer?.stop();
});

const outcomes: Array<{ name: string; outcome: Outcome; detail: string }> = [];

describe('spoofing', () => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const server = c.server === 'unconfirmed-ptr' ? ptrServer : t;
    const rcpt = `spoof${i}@example.test`;
    const reply = await send(server, { mailFrom: c.mailFrom, rcpt, ...(c.helo ? { helo: c.helo } : {}) }, await c.raw());
    const where = await landed(server, rcpt, reply.code === 250);
    const v = await verdictFor(server, rcpt);
    const outcome: Outcome =
      reply.code >= 500 ? 'rejected' : reply.code >= 400 ? 'tempfailed' : where.folder === 'Junk' ? 'quarantined' : 'delivered';
    const policy = v ? policyDetail(v) : null;
    outcomes.push({ name: c.name, outcome, detail: `${reply.code} ${reply.text} | dmarc=${v?.dmarcResult} override=${policy?.override?.type ?? 'none'}` });

    expect(v, 'verdict row').toBeDefined();
    expect(outcome, `${reply.code} ${reply.text}; ${policy?.reason}`).toBe(c.expected);
    expect(v!.fromDomain).toBe(c.judged);
    expect(v!.dmarcResult).not.toBe('pass');
    expect(policy!.override).toBeNull();
    if (c.reply) expect(reply.text).toMatch(c.reply);
    if (outcome === 'rejected') expect(where.folder).toBe('nowhere');
  });

  // Not a spoof: the indented first line is judged as no From, and in the mailbox it follows
  // Kagami's Received field, so it is that field's continuation line (RFC 5322 2.2.3), not a
  // From. A client sees only the attacker's own, aligned From.
  it('an indented " From: ceo@bank.example" first line before an aligned From is folded into our Received', async () => {
    const rcpt = 'indented-from@example.test';
    // SPF of evil.test aligns; the indented line opens the message as sent.
    const raw = message([' From: ceo@bank.example', 'From: a@evil.test', 'Subject: urgent'], BODY);
    const reply = await send(t, { mailFrom: 'bounce@evil.test', rcpt }, raw);
    expect(reply.code).toBe(250);
    const where = await landed(t, rcpt, true);
    expect(await verdictFor(t, rcpt)).toMatchObject({ fromDomain: 'evil.test', headerFrom: 'a@evil.test' });
    const stored = where.text!;
    const received = stored.indexOf('\r\nReceived: ');
    const indented = stored.indexOf('\r\n From: ceo@bank.example');
    expect(received).toBeGreaterThan(0);
    // Between Received and the indented line there are only Received's own continuation lines.
    expect(stored.slice(received + 2, indented).split('\r\n').slice(1).every((l) => /^[ \t]/.test(l))).toBe(true);
    expect(stored.match(/^From:/gm)).toEqual(['From:']);
  });

  it('summary: none delivered', () => {
    const count = (o: Outcome) => outcomes.filter((x) => x.outcome === o).length;
    const delivered = outcomes.filter((x) => x.outcome === 'delivered' || x.outcome === 'tempfailed');
    console.log(`spoofing: ${outcomes.length} cases, ${count('rejected')} rejected, ${count('quarantined')} quarantined, ${count('delivered')} delivered`);
    for (const d of delivered) console.log(`  ${d.outcome}: ${d.name} (${d.detail})`);
    expect(outcomes).toHaveLength(cases.length);
    expect(delivered.map((d) => d.name)).toEqual([]);
  });
});
