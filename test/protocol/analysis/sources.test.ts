import { describe, expect, it } from 'vitest';
import { baseDomain, identifyForwarder, identifySender, KNOWN_FORWARDERS, NAMED_SENDERS } from '../../../src/analysis/senders.js';
import { summariseSources, summariseTls } from '../../../src/analysis/sources.js';
import type { StoredAggregateRecord, StoredReport } from '../../../src/store/types.js';

function rec(sourceIp: string, count: number, dkim: string, spf: string, disposition = 'none'): StoredAggregateRecord {
  return { sourceIp, count, disposition, dkimAligned: dkim, spfAligned: spf, headerFrom: 'shop.example', envelopeFrom: null, dkim: [], spf: [], overrides: [] };
}

function report(id: string, begin: number, records: StoredAggregateRecord[]): StoredReport {
  return {
    id, kind: 'aggregate', org: id.split('!')[0]!, reportId: id.split('!')[1]!, domain: 'shop.example', begin, end: begin + 86_399, receivedAt: 0, source: 'file',
    records: records.length, messages: records.reduce((n, r) => n + r.count, 0), failed: 0,
    policy: {}, warnings: [], aggregateRecords: records, tlsPolicies: [], tlsFailures: [], failure: null,
  };
}

const DAY1 = Date.UTC(2026, 10, 1) / 1000;
const DAY2 = DAY1 + 86_400;

describe('named senders', () => {
  it('identifies services by PTR suffix, longest suffix first, case and trailing dot ignored', () => {
    expect(identifySender('o1.sendgrid.net')).toEqual({ name: 'SendGrid' });
    expect(identifySender('mail-eopbgr.EUR01.prod.protection.outlook.com.')).toEqual({ name: 'Microsoft 365' });
    expect(identifySender('mail-sor-f41.google.com')).toEqual({ name: 'Google Workspace' });
    expect(identifySender('a1-2.smtp-out.eu-west-1.amazonses.com')).toEqual({ name: 'Amazon SES' });
    expect(identifySender('mail180-1.suw21.mcsv.net')).toEqual({ name: 'Mailchimp/Mandrill' });
    expect(identifySender('mta.mtasv.net')).toEqual({ name: 'Postmark' });
    expect(identifySender('notgoogle.com')).toBeNull();
    expect(identifySender('sendgrid.net.attacker.example')).toBeNull();
    expect(identifySender(null)).toBeNull();
  });

  it('takes the base domain from the ICANN section of the Public Suffix List', () => {
    // Expectations written by hand from the PSL rules: co.uk, com.au, uk; *.kawasaki.jp with the
    // exception !city.kawasaki.jp.
    expect(baseDomain('o1.sendgrid.net')).toBe('sendgrid.net');
    expect(baseDomain('mx.mail.Example.CO.UK.')).toBe('example.co.uk');
    expect(baseDomain('smtp.shop.com.au')).toBe('shop.com.au');
    expect(baseDomain('mail.example.uk')).toBe('example.uk');
    expect(baseDomain('a.b.c.example.org')).toBe('example.org');
    expect(baseDomain('mx.shop.kawasaki.jp')).toBe('mx.shop.kawasaki.jp');
    expect(baseDomain('www.city.kawasaki.jp')).toBe('city.kawasaki.jp');
    // The private section is left out: a cloud's customer hosts group under the cloud.
    expect(baseDomain('ec2-198-51-100-1.compute-1.amazonaws.com')).toBe('amazonaws.com');
    expect(baseDomain('user.github.io')).toBe('github.io');
    // Not in the list: the last label counts as the suffix (PSL default rule "*").
    expect(baseDomain('a.b.mail.test')).toBe('mail.test');
    // PTR names that are not valid host names still group.
    expect(baseDomain('host_1.example.net')).toBe('example.net');
    expect(baseDomain('localhost')).toBe('localhost');
  });

  it('knows the added services by their PTR names', () => {
    const table: Array<[string, string | null]> = [
      ['e226-1.smtp-out.eu-west-1.amazonses.com', 'Amazon SES'],
      ['a8-30.smtp-out.us-west-2.amazonses.com', 'Amazon SES'],
      ['mail-db8eur05on2070.outbound.protection.outlook.com', 'Microsoft 365'],
      ['sender4-op-o12.zoho.com', 'Zoho Mail'],
      ['out1-smtp.messagingengine.com', 'Fastmail'],
      ['mx0a-00123401.pphosted.com', 'Proofpoint'],
      ['us-smtp-delivery-1.mimecast.com', 'Mimecast'],
      ['sonic301-20.consmr.mail.bf2.yahoo.com', 'Yahoo'],
      ['st43p00im-zteg10062001.me.com', 'iCloud'],
      ['mail187-10.suw11.mandrillapp.com', 'Mailchimp/Mandrill'],
      ['ccm27.constantcontact.com', 'Constant Contact'],
      ['mail-4321.protonmail.ch', 'Proton Mail'],
      ['mimecast.com.attacker.example', null],
    ];
    for (const [ptr, name] of table) expect(identifySender(ptr)?.name ?? null, ptr).toBe(name);
  });

  it('keeps the tables data: every row has a name and suffixes in lowercase without dots at the ends', () => {
    for (const row of [...NAMED_SENDERS, ...KNOWN_FORWARDERS]) {
      expect(row.name).not.toBe('');
      for (const s of row.ptrSuffixes) expect(s, row.name).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
    }
    for (const row of NAMED_SENDERS) for (const s of row.spfIncludes) expect(s, row.name).toMatch(/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/);
    expect(new Set(NAMED_SENDERS.map((r) => r.name)).size).toBe(NAMED_SENDERS.length);
  });

  it('identifies forwarders and mailing-list hosts by PTR suffix', () => {
    expect(identifyForwarder('mail-sor-f41.google.com')).toMatchObject({ kind: 'forwarding' });
    expect(identifyForwarder('bendel.debian.org')).toEqual({ name: 'Debian lists', kind: 'mailing-list' });
    expect(identifyForwarder('o1.sendgrid.net')).toBeNull();
    expect(identifyForwarder(null)).toBeNull();
  });
});

describe('summariseSources', () => {
  const reports = [
    report('google.com!1', DAY1, [
      rec('192.0.2.1', 10, 'pass', 'pass'),
      rec('198.51.100.7', 4, 'pass', 'fail'),
      rec('203.0.113.9', 2, 'fail', 'fail', 'reject'),
    ]),
    report('Outlook.com!2', DAY2, [
      rec('192.0.2.1', 5, 'fail', 'pass', 'none'),
      rec('203.0.113.9', 1, 'fail', 'fail', 'quarantine'),
      rec('198.51.100.8', 30, 'pass', 'fail'),
      rec('192.0.2.50', 3, 'pass', 'pass'),
    ]),
  ];
  const enrich = new Map<string, { ptr: string | null }>([
    ['192.0.2.1', { ptr: 'o1.sendgrid.net' }],
    ['198.51.100.7', { ptr: 'lists.example.org' }],
    ['198.51.100.8', { ptr: 'mail-sor-f41.google.com' }],
    ['203.0.113.9', { ptr: null }],
  ]);

  it('sums per IP, classifies, and sorts by messages', () => {
    const { sources } = summariseSources(reports, enrich, new Set(['192.0.2.50']), null, null);
    expect(sources.map((s) => s.ip)).toEqual(['198.51.100.8', '192.0.2.1', '198.51.100.7', '192.0.2.50', '203.0.113.9']);
    const by = new Map(sources.map((s) => [s.ip, s]));
    expect(by.get('192.0.2.1')).toEqual({
      ip: '192.0.2.1', ptr: 'o1.sendgrid.net', baseDomain: 'sendgrid.net', sender: 'SendGrid', class: 'named',
      messages: 15, dmarcPass: 15, spfAligned: 15, dkimAligned: 10, dispositions: { none: 15, quarantine: 0, reject: 0 },
      dkimPass: 10, classReason: 'named-sender', reason: 'the PTR name o1.sendgrid.net belongs to SendGrid', ptrConfirmed: true,
    });
    // DKIM passes, SPF never aligned, from Google: forwarded (Gmail forwarding, Groups), though Google is also a named sender.
    expect(by.get('198.51.100.8')).toMatchObject({ class: 'forwarder', classReason: 'known-forwarder', sender: 'Google Workspace', baseDomain: 'google.com' });
    // Not a known forwarder: the old "aligned DKIM, never aligned SPF" rule, marked as inferred.
    expect(by.get('198.51.100.7')).toMatchObject({ class: 'forwarder', classReason: 'dkim-only', sender: null, baseDomain: 'example.org', dmarcPass: 4, spfAligned: 0, dkimAligned: 4 });
    expect(by.get('192.0.2.50')).toMatchObject({ class: 'ours', classReason: 'kagami-sent', ptr: null, baseDomain: null });
    expect(by.get('203.0.113.9')).toMatchObject({ class: 'unknown', classReason: 'no-match', messages: 3, dmarcPass: 0, dispositions: { none: 0, quarantine: 1, reject: 2 }, ptrConfirmed: null });
  });

  it('an unconfirmed PTR name is shown but names no sender or forwarder', () => {
    const spoofed = new Map([
      ['192.0.2.1', { ptr: 'o1.sendgrid.net', confirmed: false }],
      ['198.51.100.8', { ptr: 'mail-sor-f41.google.com', confirmed: false }],
    ]);
    const by = new Map(summariseSources(reports, spoofed, new Set(), null, null).sources.map((s) => [s.ip, s]));
    expect(by.get('192.0.2.1')).toMatchObject({ ptr: 'o1.sendgrid.net', ptrConfirmed: false, sender: null, class: 'unknown', classReason: 'no-match' });
    expect(by.get('192.0.2.1')!.reason).toMatch(/not forward-confirmed/);
    // Not a known forwarder any more: only the inferred rule is left.
    expect(by.get('198.51.100.8')).toMatchObject({ sender: null, class: 'forwarder', classReason: 'dkim-only' });
  });

  it('keeps only reports whose period meets [since, until)', () => {
    const first = summariseSources(reports, enrich, new Set(), null, DAY2 * 1000);
    expect(first.sources.map((s) => [s.ip, s.messages])).toEqual([['192.0.2.1', 10], ['198.51.100.7', 4], ['203.0.113.9', 2]]);
    const second = summariseSources(reports, enrich, new Set(), DAY2 * 1000, null);
    expect(second.sources.find((s) => s.ip === '192.0.2.1')?.messages).toBe(5);
    expect(second.sources.some((s) => s.ip === '198.51.100.7')).toBe(false);
    expect(summariseSources([], enrich, new Set(), null, null)).toEqual({ sources: [] });
  });
});

describe('source classes (table)', () => {
  interface Row {
    name: string;
    ptr: string | null;
    records: Array<Partial<StoredAggregateRecord>>;
    ours?: boolean;
    own?: string[];
    trusted?: string[];
    cls: string;
    why: string;
  }
  const ourDkim = [{ domain: 'shop.example', selector: 's1', result: 'pass' }];
  const rows: Row[] = [
    { name: 'recorded outbound address', ptr: 'mx.shop.example', records: [{ dkimAligned: 'fail', spfAligned: 'fail' }], ours: true, cls: 'ours', why: 'kagami-sent' },
    { name: 'in an own_ips CIDR', ptr: null, records: [{}], own: ['192.0.2.0/28'], cls: 'ours', why: 'own-ip' },
    { name: 'own_ips is a CIDR, not a prefix of the text', ptr: null, records: [{}], own: ['192.0.2.16/28'], cls: 'unknown', why: 'no-match' },
    { name: 'ESP signing with our key, own envelope domain', ptr: 'o1.sendgrid.net', records: [{ dkimAligned: 'pass', spfAligned: 'fail', dkim: ourDkim }], cls: 'named', why: 'named-sender' },
    { name: 'Google: DKIM ours, SPF fails', ptr: 'mail-sor-f41.google.com', records: [{ dkimAligned: 'pass', spfAligned: 'fail', dkim: ourDkim }], cls: 'forwarder', why: 'known-forwarder' },
    { name: 'Google: SPF aligned too (Workspace sending for us)', ptr: 'mail-sor-f41.google.com', records: [{ dkimAligned: 'pass', spfAligned: 'pass' }, { dkimAligned: 'pass', spfAligned: 'fail' }], cls: 'named', why: 'named-sender' },
    // adkim=s with a subdomain signer: policy_evaluated dkim fails, the raw signature passed for the domain.
    { name: 'list host, unaligned subdomain signature', ptr: 'bendel.debian.org', records: [{ dkimAligned: 'fail', spfAligned: 'fail', dkim: [{ domain: 'news.shop.example', result: 'pass' }] }], cls: 'forwarder', why: 'known-forwarder' },
    { name: 'list host, someone else\'s signature', ptr: 'bendel.debian.org', records: [{ dkimAligned: 'fail', spfAligned: 'fail', dkim: [{ domain: 'evil.example', result: 'pass' }] }], cls: 'unknown', why: 'no-match' },
    { name: 'trusted forwarder by host name', ptr: 'relay.partner.example', records: [{ dkimAligned: 'pass', spfAligned: 'fail' }], trusted: ['partner.example'], cls: 'forwarder', why: 'trusted-forwarder' },
    { name: 'trusted forwarder by CIDR', ptr: null, records: [{ dkimAligned: 'fail', spfAligned: 'fail', dkim: ourDkim }], trusted: ['192.0.2.0/24'], cls: 'forwarder', why: 'trusted-forwarder' },
    { name: 'reporter says mailing_list (signature broken by the list)', ptr: 'lists.unknown.example', records: [{ dkimAligned: 'fail', spfAligned: 'fail', overrides: [{ type: 'mailing_list', comment: null }] }], cls: 'forwarder', why: 'reporter-override' },
    { name: 'reporter override other than forwarding', ptr: null, records: [{ dkimAligned: 'fail', spfAligned: 'fail', overrides: [{ type: 'local_policy' }] }], cls: 'unknown', why: 'no-match' },
    { name: 'unknown host, aligned DKIM only', ptr: 'mail.elsewhere.example', records: [{ dkimAligned: 'pass', spfAligned: 'fail' }], cls: 'forwarder', why: 'dkim-only' },
    { name: 'unknown host, SPF aligned', ptr: 'mail.elsewhere.example', records: [{ dkimAligned: 'pass', spfAligned: 'pass' }], cls: 'unknown', why: 'no-match' },
    { name: 'no PTR, nothing passes', ptr: null, records: [{ dkimAligned: 'fail', spfAligned: 'fail' }], cls: 'unknown', why: 'no-match' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const recs = row.records.map((r) => ({ ...rec('192.0.2.9', 2, 'fail', 'fail'), ...r }));
      const { sources } = summariseSources([report('r!1', DAY1, recs)], new Map([['192.0.2.9', { ptr: row.ptr }]]), new Set(row.ours ? ['192.0.2.9'] : []), null, null, {
        ownNetworks: row.own ?? [],
        trustedForwarders: row.trusted ?? [],
      });
      expect(sources).toHaveLength(1);
      expect([sources[0]!.class, sources[0]!.classReason]).toEqual([row.cls, row.why]);
      expect(sources[0]!.reason).not.toBe('');
    });
  }

  it('matches addresses Kagami recorded however the report writes them', () => {
    const recs = [rec('2001:DB8::25', 1, 'pass', 'pass'), rec('::ffff:198.51.100.25', 1, 'pass', 'pass'), rec('198.51.100.26', 1, 'pass', 'pass')];
    const { sources } = summariseSources([report('r!1', DAY1, recs)], new Map(), new Set(['2001:db8::25', '198.51.100.25']), null, null);
    expect(Object.fromEntries(sources.map((s) => [s.ip, s.class]))).toEqual({ '2001:DB8::25': 'ours', '::ffff:198.51.100.25': 'ours', '198.51.100.26': 'unknown' });
  });

  it('counts DKIM passes for the domain beside the aligned ones', () => {
    const recs = [
      rec('192.0.2.9', 3, 'pass', 'fail'),
      { ...rec('192.0.2.9', 2, 'fail', 'fail'), dkim: [{ domain: 'mail.shop.example', result: 'pass' }] },
      { ...rec('192.0.2.9', 1, 'fail', 'fail'), dkim: [{ domain: 'shop.example', result: 'fail' }, { domain: 'other.example', result: 'pass' }] },
    ];
    const [s] = summariseSources([report('r!1', DAY1, recs)], new Map(), new Set(), null, null).sources;
    expect(s).toMatchObject({ messages: 6, dkimAligned: 3, dkimPass: 5 });
  });
});

describe('summariseTls', () => {
  it('sums policies and groups failures by result type and MX', () => {
    const base = report('x!1', DAY1, []);
    const tls = (id: string, ok: number, failed: number): StoredReport => ({
      ...base, id, kind: 'tls', domain: 'shop.example',
      tlsPolicies: [{ policyType: 'sts', policyDomain: 'shop.example', successful: ok, failed }],
      tlsFailures: [
        { policyDomain: 'shop.example', resultType: 'certificate-expired', sendingIp: '192.0.2.1', receivingMx: 'mx1.shop.example', receivingIp: null, failedCount: failed - 1 },
        { policyDomain: 'shop.example', resultType: 'starttls-not-supported', sendingIp: null, receivingMx: null, receivingIp: null, failedCount: 1 },
      ],
    });
    const s = summariseTls([tls('a!1', 100, 5), tls('b!2', 50, 3), base], 'shop.example');
    expect(s).toEqual({
      domain: 'shop.example',
      policies: [{ policyType: 'sts', policyDomain: 'shop.example', successful: 150, failed: 8 }],
      successful: 150,
      failed: 8,
      failures: [
        { resultType: 'certificate-expired', receivingMx: 'mx1.shop.example', count: 6 },
        { resultType: 'starttls-not-supported', receivingMx: null, count: 2 },
      ],
    });
  });
});
