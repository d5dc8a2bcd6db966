import { describe, expect, it } from 'vitest';
import { buildDomainOverview, summariseFailures, summariseReporters, utcDay } from '../../../src/analysis/overview.js';
import type { StoredReport } from '../../../src/store/types.js';
import { agg, DAY, rec } from './fixtures.js';

const D1 = Date.UTC(2026, 10, 1) / 1000;
const D2 = D1 + DAY;
const D3 = D2 + DAY;
const NOW = (D3 + 2 * DAY) * 1000;

const enrich = new Map<string, { ptr: string | null }>([
  ['192.0.2.1', { ptr: 'o1.sendgrid.net' }],
  ['198.51.100.8', { ptr: 'lists.example.org' }],
]);

const reports = [
  agg('google.com', 1, D1, [
    rec('192.0.2.1', 10, 'pass', 'pass'),
    rec('203.0.113.9', 5, 'fail', 'fail', { disposition: 'reject' }),
  ]),
  agg('Outlook.com', 2, D2, [
    rec('192.0.2.1', 4, 'fail', 'fail', { disposition: 'quarantine' }),
    rec('198.51.100.8', 6, 'pass', 'fail'),
    // Signed by us (a subdomain key), unaligned under adkim=s: looks legitimate.
    rec('203.0.113.20', 3, 'fail', 'fail', { disposition: 'quarantine', dkim: [{ domain: 'news.shop.example', result: 'pass' }] }),
    // SPF passed for an envelope domain aligned with the From domain.
    rec('203.0.113.30', 2, 'fail', 'fail', { disposition: 'reject', spf: [{ domain: 'bounce.shop.example', result: 'pass', scope: 'mfrom' }] }),
    // DKIM passed, but for somebody else's domain; SPF passed only for HELO: no sign.
    rec('203.0.113.40', 1, 'fail', 'fail', { disposition: 'reject', dkim: [{ domain: 'evil.example', result: 'pass' }], spf: [{ domain: 'shop.example', result: 'pass', scope: 'helo' }] }),
  ]),
  // Spans two days: counted on the day it begins (D3), not split.
  { ...agg('google.com', 3, D3, [rec('192.0.2.1', 20, 'pass', 'pass'), rec('203.0.113.9', 20, 'fail', 'fail', { disposition: 'none' })]), end: D3 + 2 * DAY - 1 },
  agg('google.com', 4, D1, [rec('192.0.2.99', 1000, 'fail', 'fail')], 'other.example'),
];

describe('buildDomainOverview', () => {
  const o = buildDomainOverview(reports, { domain: 'Shop.Example', since: null, until: null, now: NOW, enrich, ours: new Set(['192.0.2.77']) });

  it('sums volume and DMARC passes of the domain only', () => {
    expect(o).toMatchObject({ domain: 'shop.example', since: null, until: null, generatedAt: new Date(NOW).toISOString(), reports: 3, messages: 71, dmarcPass: 36 });
    expect(o.passRate).toBe(0.507);
    expect(o.dispositions).toEqual({ none: 56, quarantine: 7, reject: 8 });
  });

  it('gives one pass-rate point per UTC day a report period begins on', () => {
    expect(o.passRateByDay).toEqual([
      { day: '2026-11-01', messages: 15, dmarcPass: 10, passRate: 0.6667 },
      { day: '2026-11-02', messages: 16, dmarcPass: 6, passRate: 0.375 },
      { day: '2026-11-03', messages: 40, dmarcPass: 20, passRate: 0.5 },
    ]);
    expect(utcDay(D3 + DAY - 1)).toBe('2026-11-03');
  });

  it('counts sources and messages by class', () => {
    expect(o.classes).toEqual({
      ours: { sources: 0, messages: 0, dmarcPass: 0 },
      named: { sources: 1, messages: 34, dmarcPass: 30 },
      forwarder: { sources: 1, messages: 6, dmarcPass: 6 },
      unknown: { sources: 4, messages: 31, dmarcPass: 0 },
    });
  });

  it('lists what was quarantined or rejected, with why it looks legitimate', () => {
    expect(o.blocked.map((b) => [b.ip, b.quarantine, b.reject, b.class, b.legitimate])).toEqual([
      ['203.0.113.9', 0, 5, 'unknown', false],
      ['192.0.2.1', 4, 0, 'named', true],
      ['203.0.113.20', 3, 0, 'unknown', true],
      ['203.0.113.30', 0, 2, 'unknown', true],
      ['203.0.113.40', 0, 1, 'unknown', false],
    ]);
    const by = new Map(o.blocked.map((b) => [b.ip, b]));
    // The classifier's reason (sources.ts), prefixed with the class.
    expect(by.get('192.0.2.1')!.reasons).toEqual([expect.stringMatching(/^named: .*SendGrid/)]);
    expect(by.get('192.0.2.1')!.sender).toBe('SendGrid');
    expect(by.get('203.0.113.20')!.reasons).toEqual(['DKIM passed for d=news.shop.example (ours, even if the receiver did not count it as aligned)']);
    expect(by.get('203.0.113.30')!.reasons).toEqual(['SPF passed for the envelope domain bounce.shop.example, aligned with the From domain']);
    expect(by.get('203.0.113.40')!.reasons).toEqual([]);
  });

  it('marks an address of ours and a forwarder as legitimate', () => {
    const r = [agg('google.com', 9, D1, [rec('192.0.2.77', 2, 'fail', 'fail', { disposition: 'quarantine' }), rec('198.51.100.8', 5, 'pass', 'fail'), rec('198.51.100.8', 1, 'fail', 'fail', { disposition: 'reject' })])];
    const x = buildDomainOverview(r, { domain: 'shop.example', since: null, until: null, now: NOW, enrich, ours: new Set(['192.0.2.77']) });
    expect(x.blocked.map((b) => [b.ip, b.class, b.reasons.length > 0])).toEqual([['192.0.2.77', 'ours', true], ['198.51.100.8', 'forwarder', true]]);
    expect(x.blocked[0]!.reasons).toEqual([expect.stringMatching(/^ours: /)]);
    expect(x.blocked[1]!.reasons[0]).toMatch(/^forwarder: /);
  });

  it('lists reporters, most recent first, with their first and last period ends', () => {
    expect(o.reporters).toEqual([
      { org: 'google.com', email: null, reports: 2, firstPeriodEnd: new Date((D1 + DAY - 1) * 1000).toISOString(), lastPeriodEnd: new Date((D3 + 2 * DAY - 1) * 1000).toISOString(), lastReceivedAt: new Date((D3 + DAY + 3600) * 1000).toISOString() },
      { org: 'Outlook.com', email: null, reports: 1, firstPeriodEnd: '2026-11-02T23:59:59.000Z', lastPeriodEnd: '2026-11-02T23:59:59.000Z', lastReceivedAt: '2026-11-03T01:00:00.000Z' },
    ]);
    // The contact comes from what the report says: aggregate metadata email, TLS contact-info.
    expect(summariseReporters([{ ...reports[0]!, policy: { metadata: { email: 'noreply-dmarc-support@google.com' } } }])[0]!.email).toBe('noreply-dmarc-support@google.com');
    expect(summariseReporters([{ ...reports[0]!, kind: 'tls', policy: { contactInfo: 'tlsrpt@google.com' } }])[0]!.email).toBe('tlsrpt@google.com');
    expect(summariseReporters([{ ...reports[0]!, policy: {} }])[0]!.email).toBeNull();
  });

  it('keeps to the period and is empty without reports', () => {
    const p = buildDomainOverview(reports, { domain: 'shop.example', since: (D2 + DAY) * 1000, until: null, now: NOW, enrich, ours: new Set() });
    expect(p).toMatchObject({ since: '2026-11-03T00:00:00.000Z', reports: 1, messages: 40, dmarcPass: 20 });
    expect(p.passRateByDay.map((d) => d.day)).toEqual(['2026-11-03']);
    const none = buildDomainOverview([], { domain: 'shop.example', since: null, until: null, now: NOW, enrich, ours: new Set() });
    expect(none).toMatchObject({ reports: 0, messages: 0, passRate: null, passRateByDay: [], blocked: [], reporters: [] });
  });
});

describe('failure reports in the overview', () => {
  const failure = (id: string, at: number, sourceIp: string | null, domain = 'shop.example'): StoredReport => ({
    id, kind: 'failure', org: 'reporter.example', reportId: id, domain, begin: at, end: at, receivedAt: at * 1000, source: 'mail',
    records: 1, messages: 1, failed: 1, policy: { reporterAddress: 'ruf@reporter.example' }, warnings: [], aggregateRecords: [], tlsPolicies: [], tlsFailures: [],
    failure: { format: 'arf', authFailure: 'dmarc', sourceIp, arrivalDate: at, originalMailFrom: null, originalRcptTo: [], headerFrom: `x@${domain}`, subject: 'hi', identityAlignment: 'none', dkimDomain: null, dkimSelector: null, deliveryResult: 'reject', authenticationResults: null, originalHeaders: null },
  });
  it('counts them per source IP and lists the newest, within the period and domain only', () => {
    const all = [failure('f1', D1 + 10, '203.0.113.9'), failure('f2', D2 + 10, '203.0.113.9'), failure('f3', D3 + 10, null), failure('f4', D3, '192.0.2.1', 'other.example')];
    expect(summariseFailures(all, 'shop.example', null, null)).toEqual({
      reports: 3,
      sources: [
        { ip: '203.0.113.9', reports: 2, lastAt: new Date((D2 + 10) * 1000).toISOString() },
        { ip: null, reports: 1, lastAt: new Date((D3 + 10) * 1000).toISOString() },
      ],
      latest: ['f3', 'f2', 'f1'].map((id) => expect.objectContaining({ id })),
    });
    expect(summariseFailures(all, 'shop.example', D2 * 1000, D3 * 1000).reports).toBe(1);
    const o = buildDomainOverview([...reports, ...all], { domain: 'shop.example', since: null, until: null, now: NOW, enrich, ours: new Set() });
    expect(o.failures.reports).toBe(3);
    expect(o.reports).toBe(reports.filter((r) => r.domain === 'shop.example').length);
    expect(summariseReporters(all.slice(0, 1))[0]!.email).toBe('ruf@reporter.example');
  });
});
