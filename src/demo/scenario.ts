/**
 * The demo's world, as data: the sender domains and what they publish in DNS, the local policy
 * of the demo's MX, and one scenario per thing a new user should see DMARC do. The client IP is
 * always 127.0.0.1, so each domain's SPF record lists 127.0.0.1 when "its" server is the one
 * sending, and another address when mail reaches us through someone else.
 */
import { randomBytes } from 'node:crypto';
import { sealArc } from '../auth/arc/seal.js';
import { signDkim } from '../auth/dkim/sign.js';
import { generateDkimKey, type DkimGeneratedKey } from '../auth/dkim/keygen.js';
import { zoneResolver, type ZoneData } from '../dns/zone.js';

/** Where a message ends up, as the recipient sees it. */
export type DemoOutcome = 'delivered' | 'quarantined' | 'rejected' | 'tempfailed';

/** The domain the demo's MX receives for, and the one mailbox every scenario writes to. */
export const DEMO_DOMAIN = 'demo.test';
export const DEMO_RECIPIENT = `alice@${DEMO_DOMAIN}`;
export const DEMO_HOSTNAME = `mx.${DEMO_DOMAIN}`;
/** The demo's `[policy] trusted_arc_sealers`. */
export const TRUSTED_ARC_SEALERS: readonly string[] = ['lists.example'];
/** Every key is published under this selector: `2026._domainkey.<domain>`. */
export const DEMO_SELECTOR = '2026';

/** A sender domain and what it publishes. */
export interface DemoDomain {
  domain: string;
  /** Who it is, in a few words. */
  role: string;
  /** The TXT record at `_dmarc.<domain>`, or 'SERVFAIL' when its DNS is broken. */
  dmarc: string | 'SERVFAIL' | null;
  spf: string | null;
  /** The key it signs with: DKIM (`rsa2048`, `ed25519`) or ARC (`rsa2048`). */
  key: 'rsa2048' | 'ed25519' | null;
}

/** 192.0.2.0/24 (RFC 5737) stands for servers that are not us: mail from them reaches us relayed. */
export const DEMO_DOMAINS: readonly DemoDomain[] = [
  { domain: 'bank.example', role: 'a bank; its own server is 127.0.0.1', dmarc: 'v=DMARC1; p=reject', spf: 'v=spf1 ip4:127.0.0.1 -all', key: 'rsa2048' },
  { domain: 'statements.bank.example', role: "the bank's statement server (envelope domain)", dmarc: null, spf: 'v=spf1 ip4:192.0.2.25 -all', key: null },
  { domain: 'shop.example', role: 'a shop that asks for quarantine', dmarc: 'v=DMARC1; p=quarantine', spf: 'v=spf1 ip4:192.0.2.80 -all', key: null },
  { domain: 'news.example', role: 'a newsletter that only monitors', dmarc: 'v=DMARC1; p=none', spf: 'v=spf1 ip4:192.0.2.50 -all', key: null },
  { domain: 'payments.example', role: 'trying out reject in testing mode', dmarc: 'v=DMARC1; p=reject; t=y', spf: 'v=spf1 ip4:192.0.2.60 -all', key: null },
  { domain: 'corp.example', role: 'a company that rejects; carol works there', dmarc: 'v=DMARC1; p=reject', spf: 'v=spf1 ip4:192.0.2.40 -all', key: 'ed25519' },
  { domain: 'lists.example', role: 'a mailing list that ARC-seals (trusted here)', dmarc: 'v=DMARC1; p=none', spf: 'v=spf1 ip4:127.0.0.1 -all', key: 'rsa2048' },
  { domain: 'forum.example', role: 'a mailing list that ARC-seals (not trusted)', dmarc: 'v=DMARC1; p=none', spf: 'v=spf1 ip4:127.0.0.1 -all', key: 'rsa2048' },
  { domain: 'spoof.example', role: "a spammer's own domain; its SPF passes", dmarc: null, spf: 'v=spf1 ip4:127.0.0.1 -all', key: null },
  { domain: 'flaky.example', role: 'a domain whose DNS server is failing', dmarc: 'SERVFAIL', spf: 'v=spf1 ip4:127.0.0.1 -all', key: null },
];

/** The private keys made for this run, by domain. */
export type DemoKeys = ReadonlyMap<string, DkimGeneratedKey>;

/** Generates every domain's key (one RSA key takes tens of milliseconds). */
export function generateDemoKeys(): DemoKeys {
  const keys = new Map<string, DkimGeneratedKey>();
  for (const d of DEMO_DOMAINS) if (d.key) keys.set(d.domain, generateDkimKey({ algorithm: d.key }));
  return keys;
}

/** The zone the demo's DNS server answers from: SPF, DKIM keys and DMARC records. */
export function buildDemoZone(keys: DemoKeys): ZoneData {
  const zone: ZoneData = {};
  for (const d of DEMO_DOMAINS) {
    zone[d.domain] = { TXT: d.spf ? [d.spf] : [] };
    if (d.dmarc === 'SERVFAIL') zone[`_dmarc.${d.domain}`] = { SERVFAIL: true };
    else if (d.dmarc) zone[`_dmarc.${d.domain}`] = { TXT: [d.dmarc] };
    const key = keys.get(d.domain);
    if (key) zone[`${DEMO_SELECTOR}._domainkey.${d.domain}`] = { TXT: [key.txtStrings] };
  }
  return zone;
}

/** What a message builder gets: the keys, the zone (for ARC's own checks), a nonce for Message-IDs. */
export interface DemoContext {
  keys: DemoKeys;
  zone: ZoneData;
  nonce: string;
}

export interface DemoScenario {
  /** Short and stable: the name in the summary and the JSON. */
  name: string;
  /** What it shows, in one or two sentences. */
  shows: string;
  expected: DemoOutcome;
  helo: string;
  /** The envelope sender; its local part names the scenario so its verdict row can be found. */
  mailFrom: string;
  /** The RFC5322.From address. */
  from: string;
  subject: string;
  /** The message bytes as they reach our MX. */
  build(ctx: DemoContext): Promise<Buffer>;
}

const CRLF = '\r\n';

/** A plain text message; `extra` header fields go after the usual ones. */
function plainMessage(o: { from: string; subject: string; messageId: string; body: string[]; extra?: string[] }): string {
  const headers = [
    `From: ${o.from}`,
    `To: Alice <${DEMO_RECIPIENT}>`,
    `Subject: ${o.subject}`,
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${o.messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    ...(o.extra ?? []),
  ];
  return headers.join(CRLF) + CRLF + CRLF + o.body.join(CRLF) + CRLF;
}

function dkimSigned(message: string, domain: string, ctx: DemoContext): Buffer {
  const key = ctx.keys.get(domain);
  if (!key) throw new Error(`demo: no key for ${domain}`);
  const bytes = Buffer.from(message, 'latin1');
  const signature = signDkim(bytes, { domain, selector: DEMO_SELECTOR, privateKey: key.privateKeyPem, algorithm: key.signingAlgorithm });
  return Buffer.concat([Buffer.from(signature, 'latin1'), bytes]);
}

/** The Message-ID of a scenario's message: unique per run, so the Maildir file can be found. */
export function demoMessageId(scenario: Pick<DemoScenario, 'name' | 'from'>, nonce: string): string {
  return `<${scenario.name}.${nonce}@${scenario.from.split('@')[1]}>`;
}

function received(by: string, from: string, ip: string): string {
  return `Received: from ${from} ([${ip}]) by ${by} with ESMTPS; ${new Date().toUTCString().replace('GMT', '+0000')}`;
}

/**
 * A post by carol@corp.example, as a mailing list re-sends it: "[list]" in the Subject and a footer
 * (so corp.example's DKIM signature breaks), List-Id, then the list's ARC Set vouching for what it
 * saw on arrival (RFC 8617 5.1).
 */
async function listPost(s: DemoScenario, list: string, ctx: DemoContext): Promise<Buffer> {
  const original = dkimSigned(
    plainMessage({
      from: s.from,
      subject: 'Quarterly all-hands moved to Thursday',
      messageId: demoMessageId(s, ctx.nonce),
      body: ['Hi all,', '', 'the all-hands moves to Thursday 10:00.', '', 'Carol'],
    }),
    'corp.example',
    ctx,
  ).toString('latin1');
  const modified = original
    .replace(/^Subject: (.*)$/m, `Subject: ${s.subject}`)
    .replace(/\r\n$/, `${CRLF}--${CRLF}announce mailing list - https://${list}/announce${CRLF}`);
  const withList = `List-Id: Announcements <announce.${list}>${CRLF}${received(`mail.${list}`, 'mail.corp.example', '192.0.2.40')}${CRLF}${modified}`;
  const key = ctx.keys.get(list);
  if (!key) throw new Error(`demo: no key for ${list}`);
  const seal = await sealArc(
    Buffer.from(withList, 'latin1'),
    {
      domain: list,
      selector: DEMO_SELECTOR,
      privateKey: key.privateKeyPem,
      authservId: `mail.${list}`,
      authResults: 'spf=pass smtp.mailfrom=corp.example; dkim=pass header.d=corp.example; dmarc=pass header.from=corp.example',
      cv: 'none',
    },
    zoneResolver(ctx.zone),
  );
  return Buffer.from(seal + withList, 'latin1');
}

export const DEMO_SCENARIOS: readonly DemoScenario[] = [
  {
    name: 'bank-direct',
    shows: "bank.example's own server sends: SPF and DKIM both pass and align with the From domain, so DMARC passes.",
    expected: 'delivered',
    helo: 'mail.bank.example',
    mailFrom: 'bounces+bank-direct@bank.example',
    from: 'Example Bank <notices@bank.example>',
    subject: 'Your new card is on its way',
    async build(ctx) {
      const message = plainMessage({ from: this.from, subject: this.subject, messageId: demoMessageId(this, ctx.nonce), body: ['Dear Alice,', '', 'your new card was posted today.'] });
      return dkimSigned(message, 'bank.example', ctx);
    },
  },
  {
    name: 'bank-spoofed',
    shows: "A spammer's server writes From: bank.example. Its own SPF passes, but for spoof.example, which does not align; no bank signature: DMARC fails and bank.example asks for reject.",
    expected: 'rejected',
    helo: 'mail.spoof.example',
    mailFrom: 'bounces+bank-spoofed@spoof.example',
    from: 'Example Bank Security <security@bank.example>',
    subject: 'Urgent: confirm your account',
    async build(ctx) {
      return Buffer.from(plainMessage({ from: this.from, subject: this.subject, messageId: demoMessageId(this, ctx.nonce), body: ['Click here to keep your account open.'] }), 'latin1');
    },
  },
  {
    name: 'bank-forwarded',
    shows: "The bank's statement server (192.0.2.25) sent to alice@forwarder.example, which forwards to us unchanged. SPF fails (127.0.0.1 is not in statements.bank.example's SPF) but the bank's DKIM signature survives: DMARC passes.",
    expected: 'delivered',
    helo: 'mail.forwarder.example',
    mailFrom: 'bounces+bank-forwarded@statements.bank.example',
    from: 'Example Bank <statements@bank.example>',
    subject: 'Your monthly statement',
    async build(ctx) {
      const message = plainMessage({ from: this.from, subject: this.subject, messageId: demoMessageId(this, ctx.nonce), body: ['Dear Alice,', '', 'your statement for this month is ready.'] });
      const signed = dkimSigned(message, 'bank.example', ctx);
      return Buffer.concat([Buffer.from(received('mail.forwarder.example', 'statements.bank.example', '192.0.2.25') + CRLF, 'latin1'), signed]);
    },
  },
  {
    name: 'shop-spoofed',
    shows: 'A spammer writes From: shop.example, which asks for quarantine: the message is accepted but filed in Junk.',
    expected: 'quarantined',
    helo: 'mail.spoof.example',
    mailFrom: 'bounces+shop-spoofed@spoof.example',
    from: 'Example Shop <orders@shop.example>',
    subject: 'Your parcel could not be delivered',
    async build(ctx) {
      return Buffer.from(plainMessage({ from: this.from, subject: this.subject, messageId: demoMessageId(this, ctx.nonce), body: ['Pay the customs fee to get your parcel.'] }), 'latin1');
    },
  },
  {
    name: 'news-unaligned',
    shows: 'news.example publishes p=none (monitoring only): its unaligned mail fails DMARC but is delivered, and the failure is recorded for its reports.',
    expected: 'delivered',
    helo: 'mail.spoof.example',
    mailFrom: 'bounces+news-unaligned@spoof.example',
    from: 'Example News <weekly@news.example>',
    subject: 'This week in examples',
    async build(ctx) {
      return Buffer.from(plainMessage({ from: this.from, subject: this.subject, messageId: demoMessageId(this, ctx.nonce), body: ['Five examples you missed this week.'] }), 'latin1');
    },
  },
  {
    name: 'payments-testing',
    shows: 'payments.example publishes p=reject; t=y (testing): a receiver applies one level less, so its failing mail is quarantined, not rejected.',
    expected: 'quarantined',
    helo: 'mail.spoof.example',
    mailFrom: 'bounces+payments-testing@spoof.example',
    from: 'Example Payments <billing@payments.example>',
    subject: 'Invoice overdue',
    async build(ctx) {
      return Buffer.from(plainMessage({ from: this.from, subject: this.subject, messageId: demoMessageId(this, ctx.nonce), body: ['Your invoice is overdue.'] }), 'latin1');
    },
  },
  {
    name: 'list-trusted',
    shows: "carol@corp.example (p=reject) posts to a list at lists.example, which tags the Subject and adds a footer: corp.example's DKIM breaks and DMARC fails. The list's ARC seal passes and lists.example is a trusted ARC sealer here, so it is delivered.",
    expected: 'delivered',
    helo: 'mail.lists.example',
    mailFrom: 'announce-bounces+list-trusted@lists.example',
    from: 'Carol <carol@corp.example>',
    subject: '[announce] Quarterly all-hands moved to Thursday',
    async build(ctx) {
      return listPost(this, 'lists.example', ctx);
    },
  },
  {
    name: 'list-untrusted',
    shows: "The same post through forum.example: its ARC seal passes too, but forum.example is not a trusted sealer, so corp.example's reject stands.",
    expected: 'rejected',
    helo: 'mail.forum.example',
    mailFrom: 'announce-bounces+list-untrusted@forum.example',
    from: 'Carol <carol@corp.example>',
    subject: '[announce] Quarterly all-hands moved to Thursday',
    async build(ctx) {
      return listPost(this, 'forum.example', ctx);
    },
  },
  {
    name: 'flaky-dns',
    shows: "flaky.example's DNS answers SERVFAIL for its DMARC record: the policy is unknown, so the MX answers 451 and the sender retries later (DNS trouble is never a pass).",
    expected: 'tempfailed',
    helo: 'mail.flaky.example',
    mailFrom: 'bounces+flaky-dns@flaky.example',
    from: 'Flaky <hello@flaky.example>',
    subject: 'Hello from a domain with DNS trouble',
    async build(ctx) {
      return Buffer.from(plainMessage({ from: this.from, subject: this.subject, messageId: demoMessageId(this, ctx.nonce), body: ['Our DNS is having a bad day.'] }), 'latin1');
    },
  },
];

/** A fresh nonce for this run's Message-IDs. */
export function demoNonce(): string {
  return randomBytes(6).toString('hex');
}
