import { describe, expect, it } from 'vitest';
import { baseDomain, identifySender } from '../../../src/analysis/senders.js';
import { summariseSources, summariseTls } from '../../../src/analysis/sources.js';
import type { StoredAggregateRecord, StoredReport } from '../../../src/store/types.js';

function rec(sourceIp: string, count: number, dkim: string, spf: string, disposition = 'none'): StoredAggregateRecord {
  return { sourceIp, count, disposition, dkimAligned: dkim, spfAligned: spf, headerFrom: 'shop.example', envelopeFrom: null, dkim: [], spf: [], overrides: [] };
}

function report(id: string, begin: number, records: StoredAggregateRecord[]): StoredReport {
  return {
    id, kind: 'aggregate', org: id.split('!')[0]!, reportId: id.split('!')[1]!, domain: 'shop.example', begin, end: begin + 86_399, receivedAt: 0, source: 'file',
    records: records.length, messages: records.reduce((n, r) => n + r.count, 0), failed: 0,
    policy: {}, warnings: [], aggregateRecords: records, tlsPolicies: [], tlsFailures: [],
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

  it('takes the base domain: two labels, three under a known two-label suffix', () => {
    expect(baseDomain('o1.sendgrid.net')).toBe('sendgrid.net');
    expect(baseDomain('mx.mail.Example.CO.UK.')).toBe('example.co.uk');
    expect(baseDomain('smtp.shop.com.au')).toBe('shop.com.au');
    expect(baseDomain('a.b.c.example.org')).toBe('example.org');
    expect(baseDomain('localhost')).toBe('localhost');
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
    });
    // DKIM passes, SPF fails: named wins over forwarder when the PTR is a known service.
    expect(by.get('198.51.100.8')).toMatchObject({ class: 'named', sender: 'Google Workspace', baseDomain: 'google.com' });
    expect(by.get('198.51.100.7')).toMatchObject({ class: 'forwarder', sender: null, baseDomain: 'example.org', dmarcPass: 4, spfAligned: 0, dkimAligned: 4 });
    expect(by.get('192.0.2.50')).toMatchObject({ class: 'ours', ptr: null, baseDomain: null });
    expect(by.get('203.0.113.9')).toMatchObject({ class: 'unknown', messages: 3, dmarcPass: 0, dispositions: { none: 0, quarantine: 1, reject: 2 } });
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
