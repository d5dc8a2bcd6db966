/** Each alert kind fires on a crafted history and stays quiet on a quiet one (issue #5). */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ALERT_THRESHOLDS, evaluateAlerts, newUnknownSources, passRateDrop, recentSourceIps, silentReporters, tlsFailureSpike, type AlertOptions,
} from '../../../src/analysis/alerts.js';
import type { StoredReport } from '../../../src/store/types.js';
import { agg, DAY, rec, tls } from './fixtures.js';

// Now: 2026-11-20 12:00 UTC. Recent window (2 days): from 2026-11-18 12:00; baseline: 14 days before that.
const NOW = Date.UTC(2026, 10, 20, 12);
const day = (n: number) => Date.UTC(2026, 10, n) / 1000;
const T = DEFAULT_ALERT_THRESHOLDS;
const opts = (o: Partial<AlertOptions> = {}): AlertOptions => ({ domain: 'shop.example', now: NOW, thresholds: T, enrich: new Map(), ours: new Set(), ...o });

/** Daily reports from google.com, 2026-11-06 .. 2026-11-19, each with 100 messages from 192.0.2.1 (95 pass). */
function quietHistory(): StoredReport[] {
  const out: StoredReport[] = [];
  for (let d = 6; d <= 19; d++) out.push(agg('google.com', d, day(d), [rec('192.0.2.1', 95, 'pass', 'pass'), rec('192.0.2.1', 5, 'fail', 'fail')]));
  return out;
}

describe('quiet history', () => {
  it('raises nothing', () => {
    expect(evaluateAlerts(quietHistory(), opts())).toEqual([]);
  });
  it('raises nothing without reports', () => {
    expect(evaluateAlerts([], opts())).toEqual([]);
  });
});

describe('new-unknown-source', () => {
  const history = [...quietHistory(), agg('google.com', 100, day(19), [rec('203.0.113.9', 40, 'fail', 'fail', { disposition: 'reject' })])];

  it('fires for an unknown IP first seen in the recent window with enough messages', () => {
    const alerts = newUnknownSources(history, opts());
    expect(alerts).toEqual([
      {
        id: 'new-unknown-source:shop.example:203.0.113.9',
        kind: 'new-unknown-source',
        domain: 'shop.example',
        severity: 'critical',
        message: 'new unknown source 203.0.113.9 sent 40 messages as shop.example since 2026-11-18, 0 passing DMARC',
        figures: { ip: '203.0.113.9', ptr: null, messages: 40, dmarcPass: 0, dmarcFail: 40, since: '2026-11-18T12:00:00.000Z', threshold: 10 },
        action: expect.stringContaining('spoofing shop.example') as unknown as string,
      },
    ]);
  });

  it('is a warning when the new source passes DMARC', () => {
    const h = [...quietHistory(), agg('google.com', 100, day(19), [rec('203.0.113.9', 40, 'pass', 'fail')])];
    // DKIM passing without SPF makes it a forwarder (not unknown); with SPF too it stays unknown.
    const h2 = [...quietHistory(), agg('google.com', 100, day(19), [rec('203.0.113.9', 40, 'pass', 'pass')])];
    expect(newUnknownSources(h, opts())).toEqual([]);
    expect(newUnknownSources(h2, opts())).toMatchObject([{ severity: 'warning', figures: { dmarcPass: 40 } }]);
  });

  it('does not fire below the threshold, for a source seen before, for a named sender, or for ours', () => {
    expect(newUnknownSources(history, opts({ thresholds: { ...T, newSourceMessages: 41 } }))).toEqual([]);
    const seen = [...history, agg('yahoo.com', 1, day(10), [rec('203.0.113.9', 1, 'fail', 'fail')])];
    expect(newUnknownSources(seen, opts())).toEqual([]);
    expect(newUnknownSources(history, opts({ enrich: new Map([['203.0.113.9', { ptr: 'o1.sendgrid.net' }]]) }))).toEqual([]);
    expect(newUnknownSources(history, opts({ ours: new Set(['203.0.113.9']) }))).toEqual([]);
    expect(newUnknownSources(history, opts({ domain: 'other.example' }))).toEqual([]);
  });

  it('names the IPs to look up: those of the recent window', () => {
    expect(recentSourceIps(history, 'shop.example', NOW, T).sort()).toEqual(['192.0.2.1', '203.0.113.9']);
  });
});

describe('pass-rate-drop', () => {
  const dropped = (passing: number) => [
    ...quietHistory().filter((r) => r.begin < day(19)),
    agg('google.com', 19, day(19), [rec('192.0.2.1', passing, 'pass', 'pass'), rec('192.0.2.1', 100 - passing, 'fail', 'fail')]),
  ];

  it('fires when the recent rate falls the threshold below the baseline', () => {
    expect(passRateDrop(dropped(80), opts())).toEqual([
      {
        id: 'pass-rate-drop:shop.example',
        kind: 'pass-rate-drop',
        domain: 'shop.example',
        severity: 'warning',
        message: 'DMARC pass rate of shop.example fell from 95% to 80% (15 points) since 2026-11-18',
        figures: { baselineMessages: 1300, baselinePassRate: 95, recentMessages: 100, recentPassRate: 80, dropPoints: 15, threshold: 10, since: '2026-11-18T12:00:00.000Z' },
        action: expect.stringContaining('kagami overview --domain shop.example --since 2026-11-18') as unknown as string,
      },
    ]);
    expect(passRateDrop(dropped(50), opts())[0]!.severity).toBe('critical');
  });

  it('does not fire for a smaller drop, or with too few messages', () => {
    expect(passRateDrop(dropped(86), opts())).toEqual([]);
    expect(passRateDrop(dropped(80), opts({ thresholds: { ...T, passRateMinMessages: 101 } }))).toEqual([]);
  });
});

describe('reporter-silent', () => {
  const history = [...quietHistory(), ...[6, 7, 8, 9, 10, 11].map((d) => agg('Yahoo', d, day(d), [rec('192.0.2.1', 1, 'pass', 'pass')]))];

  it('fires for a regular reporter with no report for more than the silent days', () => {
    const alerts = silentReporters(history, opts());
    expect(alerts).toEqual([
      {
        id: 'reporter-silent:shop.example:aggregate:yahoo',
        kind: 'reporter-silent',
        domain: 'shop.example',
        severity: 'warning',
        message: 'Yahoo has sent no DMARC aggregate reports on shop.example for 8 days (last period ended 2026-11-11T23:59:59.000Z; 6 before)',
        figures: { org: 'Yahoo', reportKind: 'aggregate', reports: 6, lastPeriodEnd: '2026-11-11T23:59:59.000Z', silentDays: 8, threshold: 3 },
        action: expect.stringContaining('_dmarc.shop.example') as unknown as string,
      },
    ]);
  });

  it('does not fire for an occasional reporter, a recent one, or one silent beyond both windows', () => {
    expect(silentReporters(history, opts({ thresholds: { ...T, silentMinReports: 7 } }))).toEqual([]);
    expect(silentReporters(history, opts({ thresholds: { ...T, silentDays: 9 } }))).toEqual([]);
    expect(silentReporters(history, opts({ now: NOW + 30 * DAY * 1000 }))).toEqual([]);
  });

  it('watches TLS reporters apart from aggregate ones', () => {
    const h = [...quietHistory(), ...[6, 7, 8].map((d) => tls('Microsoft', d, day(d), 100, 0))];
    expect(silentReporters(h, opts()).map((a) => a.id)).toEqual(['reporter-silent:shop.example:tls:microsoft']);
  });
});

describe('tls-failure-spike', () => {
  const base = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17].map((d) => tls('google.com', d, day(d), 990, 10));

  it('fires when failures in the recent window pass the rate and the baseline times the factor', () => {
    const h = [...base, tls('google.com', 19, day(19), 700, 300, [{ resultType: 'certificate-expired', receivingMx: 'mx1.shop.example', failedCount: 250 }, { resultType: 'starttls-not-supported', failedCount: 50 }])];
    expect(tlsFailureSpike(h, opts())).toEqual([
      {
        id: 'tls-failure-spike:shop.example',
        kind: 'tls-failure-spike',
        domain: 'shop.example',
        severity: 'warning',
        message: '300 of 1000 TLS sessions to shop.example failed (30%) since 2026-11-18, mostly certificate-expired at mx1.shop.example',
        figures: {
          recentSessions: 1000, recentFailed: 300, recentFailureRate: 30, baselineSessions: 12000, baselineFailureRate: 1,
          topResultType: 'certificate-expired', topReceivingMx: 'mx1.shop.example', topCount: 250, since: '2026-11-18T12:00:00.000Z',
        },
        action: expect.stringContaining('kagami tls-reports --domain shop.example') as unknown as string,
      },
    ]);
  });

  it('fires without a baseline, and is critical when most sessions fail', () => {
    expect(tlsFailureSpike([tls('google.com', 19, day(19), 10, 90)], opts())).toMatchObject([{ severity: 'critical', figures: { baselineSessions: 0, baselineFailureRate: null } }]);
  });

  it('does not fire on the usual failure rate, below the rate, or below the minimum count', () => {
    expect(tlsFailureSpike([...base, tls('google.com', 19, day(19), 990, 10)], opts())).toEqual([]);
    const steady = [6, 7, 8].map((d) => tls('google.com', d, day(d), 800, 200));
    expect(tlsFailureSpike([...steady, tls('google.com', 19, day(19), 700, 300)], opts())).toEqual([]);
    expect(tlsFailureSpike([tls('google.com', 19, day(19), 1000, 40)], opts())).toEqual([]);
    expect(tlsFailureSpike([tls('google.com', 19, day(19), 10, 9)], opts())).toEqual([]);
    expect(tlsFailureSpike([tls('google.com', 19, day(19), 10, 90, [], 'other.example')], opts())).toEqual([]);
  });
});

describe('evaluateAlerts', () => {
  it('gives the same ids for the same condition, critical first', () => {
    const h = [
      ...quietHistory().filter((r) => r.begin < day(19)),
      agg('google.com', 19, day(19), [rec('192.0.2.1', 100, 'pass', 'pass'), rec('203.0.113.9', 100, 'fail', 'fail')]),
    ];
    const a = evaluateAlerts(h, opts());
    expect(a.map((x) => [x.id, x.severity])).toEqual([
      ['new-unknown-source:shop.example:203.0.113.9', 'critical'],
      ['pass-rate-drop:shop.example', 'critical'],
    ]);
    const later = evaluateAlerts(h, opts({ now: NOW + 3_600_000, domain: 'SHOP.example' }));
    expect(later.map((x) => x.id)).toEqual(a.map((x) => x.id));
  });
});
