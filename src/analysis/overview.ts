/**
 * The overview of one of our domains over a period (issue #5): volume, DMARC pass rate and its
 * course per day, messages by source class, what receivers quarantined or rejected and which of
 * that looks legitimate, and the reporters. Pure: the caller loads reports and reverse DNS.
 */
import type { StoredAggregateRecord, StoredReport } from '../store/types.js';
import { summariseSources, type SourceClass, type SourceSummary, type SourcesOptions } from './sources.js';

const DAY_MS = 86_400_000;

export interface OverviewOptions {
  /** The domain (policy_published/domain of the reports), lowercase. */
  domain: string;
  /** Reports whose period meets [since, until) (ms since the epoch; null = open). */
  since: number | null;
  until: number | null;
  /** When the overview is made (ms); echoed as generatedAt. */
  now: number;
  /** PTR name per source IP (from reverse DNS). */
  enrich: ReadonlyMap<string, { ptr: string | null }>;
  /** Addresses Kagami itself sent from. */
  ours: ReadonlySet<string>;
  /** Own networks and trusted forwarders, for the classification of sources. */
  sources?: SourcesOptions;
}

export interface DayPoint {
  /** UTC day (YYYY-MM-DD) on which the reports' periods begin. */
  day: string;
  messages: number;
  dmarcPass: number;
  /** dmarcPass / messages, 0..1; null without messages. */
  passRate: number | null;
}

export interface ClassCount {
  sources: number;
  messages: number;
  dmarcPass: number;
}

/** One source IP some of whose mail receivers quarantined or rejected. */
export interface BlockedSource {
  ip: string;
  ptr: string | null;
  sender: string | null;
  class: SourceClass;
  /** Messages from this IP in the period, and those quarantined and rejected. */
  messages: number;
  quarantine: number;
  reject: number;
  /** Whether any reason below says the mail looks like ours. */
  legitimate: boolean;
  /** Why it looks legitimate, one sentence each; empty when nothing does. */
  reasons: string[];
}

export interface ReporterSeen {
  org: string;
  /** The reporter's contact address, when the store keeps it; else null. */
  email: string | null;
  /** Aggregate reports from it in the period. */
  reports: number;
  /** Period ends (ISO 8601) of its first and last report in the period. */
  firstPeriodEnd: string;
  lastPeriodEnd: string;
  /** When its newest report reached us (ISO 8601). */
  lastReceivedAt: string;
}

export interface DomainOverview {
  domain: string;
  since: string | null;
  until: string | null;
  generatedAt: string;
  /** Aggregate reports in the period. */
  reports: number;
  messages: number;
  dmarcPass: number;
  passRate: number | null;
  passRateByDay: DayPoint[];
  classes: Record<SourceClass, ClassCount>;
  dispositions: { none: number; quarantine: number; reject: number };
  blocked: BlockedSource[];
  reporters: ReporterSeen[];
  /** DMARC failure reports (RFC 9991) about the domain in the period. */
  failures: FailureOverview;
}

export interface FailureOverview {
  reports: number;
  /** Failure reports per source IP (null: the report named none), most first. */
  sources: Array<{ ip: string | null; reports: number; lastAt: string }>;
  /** The newest failure reports, at most 10. */
  latest: Array<{ id: string; at: string; sourceIp: string | null; authFailure: string | null; headerFrom: string | null; subject: string | null; deliveryResult: string | null }>;
}

/** Failure reports about `domain` whose moment (arrival, else report date) is in the period. */
export function summariseFailures(allReports: readonly StoredReport[], domain: string, since: number | null, until: number | null): FailureOverview {
  const d = domain.toLowerCase();
  const reports = allReports.filter((r) => r.kind === 'failure' && r.domain.toLowerCase() === d && reportInPeriod(r, since, until)).sort((a, b) => b.begin - a.begin || (a.id < b.id ? -1 : 1));
  const by = new Map<string | null, { ip: string | null; reports: number; last: number }>();
  for (const r of reports) {
    const ip = r.failure?.sourceIp ?? null;
    const e = by.get(ip) ?? { ip, reports: 0, last: r.begin };
    e.reports += 1;
    e.last = Math.max(e.last, r.begin);
    by.set(ip, e);
  }
  return {
    reports: reports.length,
    sources: [...by.values()].sort((a, b) => b.reports - a.reports || b.last - a.last).map((e) => ({ ip: e.ip, reports: e.reports, lastAt: new Date(e.last * 1000).toISOString() })),
    latest: reports.slice(0, 10).map((r) => ({
      id: r.id,
      at: new Date(r.begin * 1000).toISOString(),
      sourceIp: r.failure?.sourceIp ?? null,
      authFailure: r.failure?.authFailure ?? null,
      headerFrom: r.failure?.headerFrom ?? null,
      subject: r.failure?.subject ?? null,
      deliveryResult: r.failure?.deliveryResult ?? null,
    })),
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const rate = (pass: number, total: number) => (total > 0 ? Math.round((pass / total) * 10_000) / 10_000 : null);

/** The UTC day (YYYY-MM-DD) of an instant in seconds. */
export function utcDay(seconds: number): string {
  return new Date(Math.floor((seconds * 1000) / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/** Whether a report's period [begin, end] (seconds) meets [since, until) (ms; null = open); as summariseSources. */
export function reportInPeriod(r: StoredReport, since: number | null, until: number | null): boolean {
  if (since !== null && r.end * 1000 < since) return false;
  if (until !== null && r.begin * 1000 >= until) return false;
  return true;
}

/** The aggregate reports about `domain` (policy_published/domain, case ignored). */
export function aggregateReportsOf(reports: readonly StoredReport[], domain: string): StoredReport[] {
  const d = domain.toLowerCase();
  return reports.filter((r) => r.kind === 'aggregate' && r.domain.toLowerCase() === d);
}

const isPass = (v: string | null | undefined) => v?.toLowerCase() === 'pass';

/** `name` is `domain` or one of its subdomains. */
function withinDomain(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  return n === domain || n.endsWith(`.${domain}`);
}

/** Relaxed alignment between two names, approximated as one being the other or under it. */
function relaxedAligned(a: string, b: string): boolean {
  return withinDomain(a, b.toLowerCase()) || withinDomain(b, a.toLowerCase());
}

/**
 * Why the quarantined or rejected records of one source look like legitimate mail of `domain`.
 * A DKIM signature that verified for the domain or a subdomain shows the mail was signed with our
 * key, even when the receiver found it unaligned (a strict adkim, or a subdomain signer); an SPF
 * pass for an envelope domain aligned with the From domain shows the IP is authorised for us.
 */
function legitimacyReasons(source: SourceSummary, records: readonly StoredAggregateRecord[], domain: string): string[] {
  const reasons: string[] = [];
  // The classifier's own words (sources.ts) for ours, named senders and forwarders.
  if (source.class !== 'unknown') reasons.push(`${source.class}: ${source.reason}`);
  const dkimDomains = new Set<string>();
  const spfDomains = new Set<string>();
  for (const rec of records) {
    for (const d of rec.dkim as Array<{ domain?: unknown; result?: unknown }>) {
      if (typeof d?.domain === 'string' && String(d.result).toLowerCase() === 'pass' && withinDomain(d.domain, domain)) dkimDomains.add(d.domain.toLowerCase());
    }
    for (const s of rec.spf as Array<{ domain?: unknown; result?: unknown; scope?: unknown }>) {
      if (typeof s?.domain !== 'string' || String(s.result).toLowerCase() !== 'pass' || s.scope === 'helo') continue;
      if (relaxedAligned(s.domain, rec.headerFrom)) spfDomains.add(s.domain.toLowerCase());
    }
  }
  for (const d of [...dkimDomains].sort()) reasons.push(`DKIM passed for d=${d} (ours, even if the receiver did not count it as aligned)`);
  for (const d of [...spfDomains].sort()) reasons.push(`SPF passed for the envelope domain ${d}, aligned with the From domain`);
  return reasons;
}

/**
 * The overview of `opts.domain`. Pass rate over time has one point per UTC day, each report
 * counted on the day its period begins: reports give counts for the whole period with no time
 * of day, so splitting a multi-day report across days would invent figures, and nearly all
 * reporters send one report per UTC day (00:00–23:59:59), which then lands on its own day.
 */
export function buildDomainOverview(allReports: readonly StoredReport[], opts: OverviewOptions): DomainOverview {
  const domain = opts.domain.toLowerCase();
  const reports = aggregateReportsOf(allReports, domain).filter((r) => reportInPeriod(r, opts.since, opts.until));
  const { sources } = summariseSources(reports, opts.enrich, opts.ours, opts.since, opts.until, opts.sources ?? {});

  const days = new Map<string, DayPoint>();
  const blockedRecords = new Map<string, StoredAggregateRecord[]>();
  const dispositions = { none: 0, quarantine: 0, reject: 0 };
  let messages = 0;
  let dmarcPass = 0;
  for (const r of reports) {
    const day = utcDay(r.begin);
    const point = days.get(day) ?? { day, messages: 0, dmarcPass: 0, passRate: null };
    days.set(day, point);
    for (const rec of r.aggregateRecords) {
      const pass = isPass(rec.dkimAligned) || isPass(rec.spfAligned);
      messages += rec.count;
      point.messages += rec.count;
      if (pass) {
        dmarcPass += rec.count;
        point.dmarcPass += rec.count;
      }
      const d = rec.disposition?.toLowerCase();
      if (d === 'none' || d === 'quarantine' || d === 'reject') dispositions[d] += rec.count;
      if (d === 'quarantine' || d === 'reject') {
        const list = blockedRecords.get(rec.sourceIp) ?? [];
        list.push(rec);
        blockedRecords.set(rec.sourceIp, list);
      }
    }
  }
  for (const p of days.values()) p.passRate = rate(p.dmarcPass, p.messages);

  const classes: Record<SourceClass, ClassCount> = {
    ours: { sources: 0, messages: 0, dmarcPass: 0 },
    named: { sources: 0, messages: 0, dmarcPass: 0 },
    forwarder: { sources: 0, messages: 0, dmarcPass: 0 },
    unknown: { sources: 0, messages: 0, dmarcPass: 0 },
  };
  for (const s of sources) {
    const c = classes[s.class];
    c.sources += 1;
    c.messages += s.messages;
    c.dmarcPass += s.dmarcPass;
  }

  const blocked: BlockedSource[] = [];
  const byIp = new Map<string, SourceSummary>(sources.map((s) => [s.ip, s]));
  for (const [ip, records] of blockedRecords) {
    const s = byIp.get(ip);
    if (!s) continue;
    const reasons = legitimacyReasons(s, records, domain);
    blocked.push({ ip, ptr: s.ptr, sender: s.sender, class: s.class, messages: s.messages, quarantine: s.dispositions.quarantine, reject: s.dispositions.reject, legitimate: reasons.length > 0, reasons });
  }
  blocked.sort((a, b) => b.quarantine + b.reject - (a.quarantine + a.reject) || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));

  return {
    domain,
    since: iso(opts.since),
    until: iso(opts.until),
    generatedAt: new Date(opts.now).toISOString(),
    reports: reports.length,
    messages,
    dmarcPass,
    passRate: rate(dmarcPass, messages),
    passRateByDay: [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1)),
    classes,
    dispositions,
    blocked,
    reporters: summariseReporters(reports),
    failures: summariseFailures(allReports, domain, opts.since, opts.until),
  };
}

/**
 * The reporter's contact as the report gives it: an aggregate report's metadata email, a TLS
 * report's contact-info, a failure report's From address.
 */
export function reporterContact(r: StoredReport): string | null {
  const p = (r.policy ?? {}) as { metadata?: { email?: unknown }; contactInfo?: unknown; reporterAddress?: unknown };
  const v = r.kind === 'aggregate' ? p.metadata?.email : r.kind === 'tls' ? p.contactInfo : p.reporterAddress;
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : null;
}

/** Reporters of the given reports: how many reports each sent and when, most recent first. */
export function summariseReporters(reports: readonly StoredReport[]): ReporterSeen[] {
  const by = new Map<string, { org: string; email: string | null; reports: number; first: number; last: number; received: number }>();
  for (const r of reports) {
    const key = r.org.toLowerCase();
    const email = reporterContact(r);
    const e = by.get(key) ?? { org: r.org, email, reports: 0, first: r.end, last: r.end, received: r.receivedAt };
    e.reports += 1;
    e.first = Math.min(e.first, r.end);
    e.last = Math.max(e.last, r.end);
    e.received = Math.max(e.received, r.receivedAt);
    e.email ??= email;
    by.set(key, e);
  }
  return [...by.values()]
    .sort((a, b) => b.last - a.last || a.org.localeCompare(b.org))
    .map((e) => ({
      org: e.org,
      email: e.email,
      reports: e.reports,
      firstPeriodEnd: new Date(e.first * 1000).toISOString(),
      lastPeriodEnd: new Date(e.last * 1000).toISOString(),
      lastReceivedAt: new Date(e.received).toISOString(),
    }));
}
