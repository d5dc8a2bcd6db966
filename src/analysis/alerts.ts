/**
 * Alerts about one of our domains from its stored reports (issue #5): a new unknown source, a
 * DMARC pass-rate drop, a reporter gone silent, a TLS-RPT failure spike. Pure: reports, PTR
 * names and `now` in, alerts out. The "recent" window is the last `recentDays` days before
 * `now`, the baseline the `baselineDays` days before it; a report belongs to the window its
 * period begins in (as the overview's days).
 */
import type { StoredReport } from '../store/types.js';
import { aggregateReportsOf } from './overview.js';
import { summariseSources, summariseTls, type SourcesOptions } from './sources.js';

const DAY_MS = 86_400_000;

export type AlertKind = 'new-unknown-source' | 'pass-rate-drop' | 'reporter-silent' | 'tls-failure-spike';
export type AlertSeverity = 'warning' | 'critical';

export interface Alert {
  /** Stable: the same condition on the same domain gives the same id (mail is sent once per id per UTC day). */
  id: string;
  kind: AlertKind;
  domain: string;
  severity: AlertSeverity;
  /** One line, for a mail subject or a table. */
  message: string;
  /** The numbers behind it. */
  figures: Record<string, number | string | null>;
  /** What to do next. */
  action: string;
}

export interface AlertThresholds {
  /** Days before now that make the recent window. */
  recentDays: number;
  /** Days before the recent window that make the baseline. */
  baselineDays: number;
  /** new-unknown-source: messages in the recent window from an unknown IP not seen before it. */
  newSourceMessages: number;
  /** pass-rate-drop: percentage points the recent pass rate must fall below the baseline's. */
  passRateDropPoints: number;
  /** pass-rate-drop: messages each window needs before rates are compared. */
  passRateMinMessages: number;
  /** reporter-silent: days without a report (by period end) after which a reporter is silent. */
  silentDays: number;
  /** reporter-silent: reports it must have sent in the recent and baseline windows to count as regular. */
  silentMinReports: number;
  /** tls-failure-spike: failed share of sessions in the recent window (0..1). */
  tlsFailureRate: number;
  /** tls-failure-spike: failed sessions the recent window needs. */
  tlsMinFailed: number;
  /** tls-failure-spike: how many times the baseline failure rate the recent one must reach. */
  tlsSpikeFactor: number;
}

export const DEFAULT_ALERT_THRESHOLDS: Readonly<AlertThresholds> = Object.freeze({
  recentDays: 2,
  baselineDays: 14,
  newSourceMessages: 10,
  passRateDropPoints: 10,
  passRateMinMessages: 100,
  silentDays: 3,
  silentMinReports: 3,
  tlsFailureRate: 0.05,
  tlsMinFailed: 10,
  tlsSpikeFactor: 2,
});

export interface AlertOptions {
  domain: string;
  /** ms since the epoch. */
  now: number;
  thresholds: AlertThresholds;
  /** PTR name per source IP (only the recent window's IPs are needed). */
  enrich: ReadonlyMap<string, { ptr: string | null }>;
  ours: ReadonlySet<string>;
  /** Own networks and trusted forwarders, for the classification of sources. */
  sources?: SourcesOptions;
}

interface Windows {
  recentStart: number;
  baselineStart: number;
}

function windowsOf(now: number, t: AlertThresholds): Windows {
  const recentStart = now - t.recentDays * DAY_MS;
  return { recentStart, baselineStart: recentStart - t.baselineDays * DAY_MS };
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const pct = (x: number) => Math.round(x * 1000) / 10;
const isPass = (v: string | null) => v?.toLowerCase() === 'pass';

/** Messages and DMARC passes of the reports whose period begins in [from, to) (ms). */
function passCounts(reports: readonly StoredReport[], from: number, to: number): { messages: number; dmarcPass: number } {
  let messages = 0;
  let dmarcPass = 0;
  for (const r of reports) {
    const begin = r.begin * 1000;
    if (begin < from || begin >= to) continue;
    for (const rec of r.aggregateRecords) {
      messages += rec.count;
      if (isPass(rec.dkimAligned) || isPass(rec.spfAligned)) dmarcPass += rec.count;
    }
  }
  return { messages, dmarcPass };
}

/** The IPs of every unknown-class source first seen in the recent window with enough messages. */
export function newUnknownSources(reports: readonly StoredReport[], o: AlertOptions): Alert[] {
  const t = o.thresholds;
  const w = windowsOf(o.now, t);
  const agg = aggregateReportsOf(reports, o.domain);
  const seenBefore = new Set<string>();
  const recent: StoredReport[] = [];
  for (const r of agg) {
    const begin = r.begin * 1000;
    if (begin < w.recentStart) for (const rec of r.aggregateRecords) seenBefore.add(rec.sourceIp);
    else if (begin < o.now) recent.push(r);
  }
  const { sources } = summariseSources(recent, o.enrich, o.ours, null, null, o.sources ?? {});
  const alerts: Alert[] = [];
  for (const s of sources) {
    if (s.class !== 'unknown' || seenBefore.has(s.ip) || s.messages < t.newSourceMessages) continue;
    const failing = s.messages - s.dmarcPass;
    alerts.push({
      id: `new-unknown-source:${o.domain}:${s.ip}`,
      kind: 'new-unknown-source',
      domain: o.domain,
      // Mail that passes DMARC comes from someone holding our keys or in our SPF record; failing mail may be spoofing.
      severity: failing > 0 ? 'critical' : 'warning',
      message: `new unknown source ${s.ip}${s.ptr ? ` (${s.ptr})` : ''} sent ${s.messages} messages as ${o.domain} since ${isoDay(w.recentStart)}, ${s.dmarcPass} passing DMARC`,
      figures: { ip: s.ip, ptr: s.ptr, messages: s.messages, dmarcPass: s.dmarcPass, dmarcFail: failing, since: new Date(w.recentStart).toISOString(), threshold: t.newSourceMessages },
      action:
        s.dmarcPass > 0
          ? `Find out who runs ${s.ip}: mail from it passes DMARC, so it signs with a key of ${o.domain} or is in its SPF record. If it is not yours, revoke that key or remove it from SPF.`
          : `If ${s.ip} is a service you use, authorise it (DKIM signing for ${o.domain}, or its SPF include); if not, it is spoofing ${o.domain} and a DMARC policy of quarantine or reject stops it.`,
    });
  }
  return alerts;
}

/** A drop of the DMARC pass rate in the recent window against the baseline. */
export function passRateDrop(reports: readonly StoredReport[], o: AlertOptions): Alert[] {
  const t = o.thresholds;
  const w = windowsOf(o.now, t);
  const agg = aggregateReportsOf(reports, o.domain);
  const base = passCounts(agg, w.baselineStart, w.recentStart);
  const recent = passCounts(agg, w.recentStart, o.now);
  if (base.messages < t.passRateMinMessages || recent.messages < t.passRateMinMessages) return [];
  const baseRate = base.dmarcPass / base.messages;
  const recentRate = recent.dmarcPass / recent.messages;
  const drop = (baseRate - recentRate) * 100;
  if (drop < t.passRateDropPoints) return [];
  return [
    {
      id: `pass-rate-drop:${o.domain}`,
      kind: 'pass-rate-drop',
      domain: o.domain,
      severity: drop >= 2 * t.passRateDropPoints ? 'critical' : 'warning',
      message: `DMARC pass rate of ${o.domain} fell from ${pct(baseRate)}% to ${pct(recentRate)}% (${Math.round(drop * 10) / 10} points) since ${isoDay(w.recentStart)}`,
      figures: {
        baselineMessages: base.messages,
        baselinePassRate: pct(baseRate),
        recentMessages: recent.messages,
        recentPassRate: pct(recentRate),
        dropPoints: Math.round(drop * 10) / 10,
        threshold: t.passRateDropPoints,
        since: new Date(w.recentStart).toISOString(),
      },
      action: `Run \`kagami overview --domain ${o.domain} --since ${isoDay(w.recentStart)}\` and \`kagami sources\` for the same period: a sender that lost its DKIM key or SPF entry, or new spoofing, shows as a source with failing messages.`,
    },
  ];
}

/**
 * Reporters that sent at least `silentMinReports` reports about the domain in the recent and
 * baseline windows, and none whose period ended in the last `silentDays` days. A reporter
 * silent for longer than both windows no longer counts as regular, so the alert fades out.
 */
export function silentReporters(reports: readonly StoredReport[], o: AlertOptions): Alert[] {
  const t = o.thresholds;
  const w = windowsOf(o.now, t);
  const quietSince = o.now - t.silentDays * DAY_MS;
  const d = o.domain.toLowerCase();
  const by = new Map<string, { org: string; kind: string; reports: number; last: number }>();
  for (const r of reports) {
    // Failure reports come when mail fails, not on a schedule: their silence means nothing.
    if (r.domain.toLowerCase() !== d || r.kind === 'failure') continue;
    const end = r.end * 1000;
    if (end < w.baselineStart || end >= o.now) continue;
    const key = `${r.kind}\0${r.org.toLowerCase()}`;
    const e = by.get(key) ?? { org: r.org, kind: r.kind, reports: 0, last: end };
    e.reports += 1;
    e.last = Math.max(e.last, end);
    by.set(key, e);
  }
  const alerts: Alert[] = [];
  for (const e of by.values()) {
    if (e.reports < t.silentMinReports || e.last >= quietSince) continue;
    const days = Math.floor((o.now - e.last) / DAY_MS);
    const what = e.kind === 'tls' ? 'TLS reports' : 'DMARC aggregate reports';
    alerts.push({
      id: `reporter-silent:${o.domain}:${e.kind}:${e.org.toLowerCase()}`,
      kind: 'reporter-silent',
      domain: o.domain,
      severity: 'warning',
      message: `${e.org} has sent no ${what} on ${o.domain} for ${days} days (last period ended ${new Date(e.last).toISOString()}; ${e.reports} before)`,
      figures: { org: e.org, reportKind: e.kind, reports: e.reports, lastPeriodEnd: new Date(e.last).toISOString(), silentDays: days, threshold: t.silentDays },
      action: `Check that the ${e.kind === 'tls' ? '_smtp._tls TXT record (rua=)' : `_dmarc.${o.domain} TXT record (rua=)`} still names the report address, that mail to it reaches Kagami (\`kagami reports rejected\`, the queue and the log), and whether ${e.org} still receives mail from ${o.domain}.`,
    });
  }
  return alerts.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** TLS-RPT reports about the domain whose period begins in [from, to). */
function tlsReportsIn(reports: readonly StoredReport[], domain: string, from: number, to: number): StoredReport[] {
  return reports.filter((r) => {
    if (r.kind !== 'tls') return false;
    const begin = r.begin * 1000;
    return begin >= from && begin < to && (r.domain.toLowerCase() === domain || r.tlsPolicies.some((p) => p.policyDomain.toLowerCase() === domain));
  });
}

/** More failed TLS sessions to the domain's MX in the recent window than the baseline explains. */
export function tlsFailureSpike(reports: readonly StoredReport[], o: AlertOptions): Alert[] {
  const t = o.thresholds;
  const w = windowsOf(o.now, t);
  const d = o.domain.toLowerCase();
  const recent = summariseTls(tlsReportsIn(reports, d, w.recentStart, o.now), d);
  const base = summariseTls(tlsReportsIn(reports, d, w.baselineStart, w.recentStart), d);
  const recentTotal = recent.successful + recent.failed;
  const baseTotal = base.successful + base.failed;
  if (recentTotal === 0 || recent.failed < t.tlsMinFailed) return [];
  const recentRate = recent.failed / recentTotal;
  const baseRate = baseTotal > 0 ? base.failed / baseTotal : null;
  if (recentRate < t.tlsFailureRate) return [];
  if (baseRate !== null && baseRate > 0 && recentRate < t.tlsSpikeFactor * baseRate) return [];
  const top = recent.failures[0];
  return [
    {
      id: `tls-failure-spike:${o.domain}`,
      kind: 'tls-failure-spike',
      domain: o.domain,
      severity: recentRate >= 0.5 ? 'critical' : 'warning',
      message: `${recent.failed} of ${recentTotal} TLS sessions to ${o.domain} failed (${pct(recentRate)}%) since ${isoDay(w.recentStart)}${top ? `, mostly ${top.resultType}${top.receivingMx ? ` at ${top.receivingMx}` : ''}` : ''}`,
      figures: {
        recentSessions: recentTotal,
        recentFailed: recent.failed,
        recentFailureRate: pct(recentRate),
        baselineSessions: baseTotal,
        baselineFailureRate: baseRate === null ? null : pct(baseRate),
        topResultType: top?.resultType ?? null,
        topReceivingMx: top?.receivingMx ?? null,
        topCount: top?.count ?? null,
        since: new Date(w.recentStart).toISOString(),
      },
      action: `Run \`kagami tls-reports --domain ${o.domain}\`: check the certificate of each failing MX (expiry, names), that it offers STARTTLS, and that the MTA-STS policy lists every MX.`,
    },
  ];
}

const SEVERITY_ORDER: Record<AlertSeverity, number> = { critical: 0, warning: 1 };

/** Every alert about one domain, critical first, then by id. */
export function evaluateAlerts(reports: readonly StoredReport[], o: AlertOptions): Alert[] {
  const opts = { ...o, domain: o.domain.toLowerCase() };
  return [...newUnknownSources(reports, opts), ...passRateDrop(reports, opts), ...silentReporters(reports, opts), ...tlsFailureSpike(reports, opts)].sort(
    (a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/** The source IPs of the recent window's aggregate reports: those the caller must look up for `enrich`. */
export function recentSourceIps(reports: readonly StoredReport[], domain: string, now: number, t: AlertThresholds): string[] {
  const { recentStart } = windowsOf(now, t);
  const ips = new Set<string>();
  for (const r of aggregateReportsOf(reports, domain)) {
    if (r.begin * 1000 >= recentStart && r.begin * 1000 < now) for (const rec of r.aggregateRecords) ips.add(rec.sourceIp);
  }
  return [...ips];
}

/** How far back reports are needed for evaluateAlerts (ms since the epoch). */
export function alertLookbackStart(now: number, t: AlertThresholds): number {
  return windowsOf(now, t).baselineStart;
}
