/**
 * Who sends mail as our domains, from stored DMARC aggregate reports (issue #5), and what TLS
 * reports say about mail sent to them. Pure: the caller fetches reports and reverse DNS.
 */
import type { StoredReport } from '../store/types.js';
import { baseDomain, identifySender } from './senders.js';

export type SourceClass = 'ours' | 'named' | 'forwarder' | 'unknown';

export interface SourceSummary {
  ip: string;
  ptr: string | null;
  baseDomain: string | null;
  /** The named sender the PTR belongs to, or null. */
  sender: string | null;
  class: SourceClass;
  /** Messages reported from this IP (record counts summed). */
  messages: number;
  /** Messages whose policy_evaluated dkim or spf is pass. */
  dmarcPass: number;
  /** Messages whose policy_evaluated spf is pass. */
  spfAligned: number;
  /** Messages whose policy_evaluated dkim is pass. */
  dkimAligned: number;
  dispositions: { none: number; quarantine: number; reject: number };
}

export interface SourcesSummary {
  sources: SourceSummary[];
}

/** Whether a report's period [begin, end] (seconds) meets [since, until) (ms; null = open). */
function inPeriod(r: StoredReport, since: number | null, until: number | null): boolean {
  if (since !== null && r.end * 1000 < since) return false;
  if (until !== null && r.begin * 1000 >= until) return false;
  return true;
}

/**
 * One entry per source IP over the aggregate reports in the period, most messages first.
 * A source is `ours` when Kagami sent from it, `named` when its PTR is a known service,
 * `forwarder` when its mail passes aligned DKIM but never aligned SPF (a mailing list or
 * forwarder keeping the signature), `unknown` otherwise.
 */
export function summariseSources(
  reports: readonly StoredReport[],
  enrich: ReadonlyMap<string, { ptr: string | null }>,
  ours: ReadonlySet<string>,
  since: number | null,
  until: number | null,
): SourcesSummary {
  const byIp = new Map<string, Omit<SourceSummary, 'ptr' | 'baseDomain' | 'sender' | 'class'>>();
  for (const report of reports) {
    if (report.kind !== 'aggregate' || !inPeriod(report, since, until)) continue;
    for (const rec of report.aggregateRecords) {
      const ip = rec.sourceIp;
      let s = byIp.get(ip);
      if (!s) {
        s = { ip, messages: 0, dmarcPass: 0, spfAligned: 0, dkimAligned: 0, dispositions: { none: 0, quarantine: 0, reject: 0 } };
        byIp.set(ip, s);
      }
      const n = rec.count;
      const dkim = rec.dkimAligned?.toLowerCase() === 'pass';
      const spf = rec.spfAligned?.toLowerCase() === 'pass';
      s.messages += n;
      if (dkim || spf) s.dmarcPass += n;
      if (dkim) s.dkimAligned += n;
      if (spf) s.spfAligned += n;
      const d = rec.disposition?.toLowerCase();
      if (d === 'none' || d === 'quarantine' || d === 'reject') s.dispositions[d] += n;
    }
  }
  const sources: SourceSummary[] = [];
  for (const s of byIp.values()) {
    const ptr = enrich.get(s.ip)?.ptr ?? null;
    const sender = identifySender(ptr);
    const cls: SourceClass = ours.has(s.ip)
      ? 'ours'
      : sender
        ? 'named'
        : s.dkimAligned > 0 && s.spfAligned === 0
          ? 'forwarder'
          : 'unknown';
    sources.push({ ip: s.ip, ptr, baseDomain: ptr ? baseDomain(ptr) : null, sender: sender?.name ?? null, class: cls, messages: s.messages, dmarcPass: s.dmarcPass, spfAligned: s.spfAligned, dkimAligned: s.dkimAligned, dispositions: s.dispositions });
  }
  sources.sort((a, b) => b.messages - a.messages || (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
  return { sources };
}

export interface TlsSummary {
  domain: string | null;
  policies: Array<{ policyType: string; policyDomain: string; successful: number; failed: number }>;
  successful: number;
  failed: number;
  failures: Array<{ resultType: string; receivingMx: string | null; count: number }>;
}

/** TLS reports summed: per policy, in total, and failures by result type and MX (most first). */
export function summariseTls(reports: readonly StoredReport[], domain?: string): TlsSummary {
  const policies = new Map<string, TlsSummary['policies'][number]>();
  const failures = new Map<string, TlsSummary['failures'][number]>();
  let successful = 0;
  let failed = 0;
  for (const r of reports) {
    if (r.kind !== 'tls') continue;
    for (const p of r.tlsPolicies) {
      const key = `${p.policyType}\0${p.policyDomain}`;
      const e = policies.get(key) ?? { policyType: p.policyType, policyDomain: p.policyDomain, successful: 0, failed: 0 };
      e.successful += p.successful;
      e.failed += p.failed;
      policies.set(key, e);
      successful += p.successful;
      failed += p.failed;
    }
    for (const f of r.tlsFailures) {
      const key = `${f.resultType}\0${f.receivingMx ?? ''}`;
      const e = failures.get(key) ?? { resultType: f.resultType, receivingMx: f.receivingMx, count: 0 };
      e.count += f.failedCount;
      failures.set(key, e);
    }
  }
  return {
    domain: domain ?? reports.find((r) => r.kind === 'tls')?.domain ?? null,
    policies: [...policies.values()].sort((a, b) => a.policyDomain.localeCompare(b.policyDomain) || a.policyType.localeCompare(b.policyType)),
    successful,
    failed,
    failures: [...failures.values()].sort((a, b) => b.count - a.count || a.resultType.localeCompare(b.resultType)),
  };
}
