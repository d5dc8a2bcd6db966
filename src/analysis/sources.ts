/**
 * Who sends mail as our domains, from stored DMARC aggregate reports (issue #5), and what TLS
 * reports say about mail sent to them. Pure: the caller fetches reports, reverse DNS and the
 * addresses Kagami sent from.
 */
import { matchesForwarder } from '../policy/decide.js';
import type { StoredAggregateRecord, StoredReport } from '../store/types.js';
import { baseDomain, identifyForwarder, identifySender } from './senders.js';

export type SourceClass = 'ours' | 'named' | 'forwarder' | 'unknown';

/**
 * Why a source got its class, as a stable code (the text is in `reason`):
 * - `kagami-sent`: Kagami delivered mail from this address itself;
 * - `own-ip`: the address is in `reports.own_ips`;
 * - `known-forwarder`: DKIM passed for the domain, SPF never aligned, and the PTR name is a
 *   known forwarding service or mailing-list host;
 * - `trusted-forwarder`: the same pattern from an entry of `policy.trusted_forwarders`;
 * - `reporter-override`: the receiver itself overrode the policy as forwarded, mailing_list or
 *   trusted_forwarder, and SPF never aligned;
 * - `named-sender`: the PTR name belongs to a named sender;
 * - `dkim-only`: inferred: aligned DKIM but never aligned SPF from an address that is none of
 *   the above (a forwarder or list Kagami does not know);
 * - `no-match`: none of the above.
 */
export type SourceClassReason =
  | 'kagami-sent'
  | 'own-ip'
  | 'known-forwarder'
  | 'trusted-forwarder'
  | 'reporter-override'
  | 'named-sender'
  | 'dkim-only'
  | 'no-match';

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
  /**
   * Messages with a passing DKIM signature for the domain, aligned or not: policy_evaluated dkim
   * pass, or an auth_results/dkim pass whose d= is the From domain, under it or above it.
   */
  dkimPass: number;
  /** Why `class`, as a code. */
  classReason: SourceClassReason;
  /** Why `class`, in words. */
  reason: string;
  /**
   * Whether `ptr` is forward-confirmed (its A/AAAA records lead back to `ip`); null without a
   * PTR name. An unconfirmed name is shown but never names a sender or forwarder: anyone can
   * publish any PTR name for addresses they hold.
   */
  ptrConfirmed: boolean | null;
}

/** Reverse DNS of a source IP. `confirmed` absent counts as confirmed (callers that checked otherwise). */
export interface SourceEnrichment {
  ptr: string | null;
  confirmed?: boolean;
}

export interface SourcesSummary {
  sources: SourceSummary[];
}

/** What classification needs beside the reports and reverse DNS; every field optional. */
export interface SourcesOptions {
  /** `reports.own_ips`: addresses and CIDRs that are ours although Kagami never saw itself send from them. */
  ownNetworks?: readonly string[];
  /** `policy.trusted_forwarders`: IPs, CIDRs, or host names matched against the PTR name. */
  trustedForwarders?: readonly string[];
}

/** PolicyOverrideType values by which a receiver says the mail was passed on (RFC 7489 App. C, RFC 9990). */
const FORWARDING_OVERRIDES = new Set(['forwarded', 'mailing_list', 'trusted_forwarder']);

/** Whether a report's period [begin, end] (seconds) meets [since, until) (ms; null = open). */
function inPeriod(r: StoredReport, since: number | null, until: number | null): boolean {
  if (since !== null && r.end * 1000 < since) return false;
  if (until !== null && r.begin * 1000 >= until) return false;
  return true;
}

const isPass = (v: unknown) => String(v ?? '').toLowerCase() === 'pass';

/** `name` is `domain` or one of its subdomains. */
function withinDomain(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const d = domain.toLowerCase().replace(/\.$/, '');
  return d !== '' && (n === d || n.endsWith(`.${d}`));
}

/** A DKIM signature for the From domain passed (aligned or not: a strict adkim, a subdomain or parent signer). */
function rawDkimPass(rec: StoredAggregateRecord, policyDomain: string): boolean {
  if (isPass(rec.dkimAligned)) return true;
  for (const d of rec.dkim as Array<{ domain?: unknown; result?: unknown } | null>) {
    if (typeof d?.domain !== 'string' || !isPass(d.result)) continue;
    if (withinDomain(d.domain, rec.headerFrom) || withinDomain(rec.headerFrom, d.domain) || withinDomain(d.domain, policyDomain)) return true;
  }
  return false;
}

/** The receiver's override types on this record that say "forwarded". */
function forwardingOverrides(rec: StoredAggregateRecord): string[] {
  const out: string[] = [];
  for (const o of rec.overrides as Array<{ type?: unknown } | null>) {
    const t = String(o?.type ?? '').toLowerCase();
    if (FORWARDING_OVERRIDES.has(t)) out.push(t);
  }
  return out;
}

interface Tally extends Omit<SourceSummary, 'ptr' | 'baseDomain' | 'sender' | 'class' | 'classReason' | 'reason' | 'ptrConfirmed'> {
  overrides: Set<string>;
}

/**
 * The class of one source, first match wins:
 * 1. ours: Kagami sent from it, or it is in `reports.own_ips`;
 * 2. forwarder, with evidence: its mail passed DKIM for the domain but never aligned SPF
 *    (RFC 7960 3.2.1: forwarding keeps the signature and breaks SPF), and it is a known
 *    forwarder or list host, a trusted forwarder of ours, or the reporter said so;
 * 3. named: its PTR name belongs to a named sender (an ESP often signs with our key but sends
 *    with its own envelope domain, so "DKIM only" alone does not make it a forwarder);
 * 4. forwarder, inferred: aligned DKIM, never aligned SPF;
 * 5. unknown.
 */
function classify(
  t: Tally,
  ptr: string | null,
  sender: string | null,
  isOurs: 'kagami-sent' | 'own-ip' | null,
  trustedForwarders: readonly string[],
): { class: SourceClass; classReason: SourceClassReason; reason: string } {
  if (isOurs === 'kagami-sent') return { class: 'ours', classReason: 'kagami-sent', reason: 'Kagami delivered mail from this address itself' };
  if (isOurs === 'own-ip') return { class: 'ours', classReason: 'own-ip', reason: 'the address is in reports.own_ips' };
  const forwardedPattern = t.dkimPass > 0 && t.spfAligned === 0;
  if (forwardedPattern) {
    const pattern = 'DKIM passed for the domain but SPF never aligned';
    const known = identifyForwarder(ptr);
    if (known) return { class: 'forwarder', classReason: 'known-forwarder', reason: `${pattern}, from ${known.name}, a ${known.kind === 'forwarding' ? 'forwarding service' : 'mailing-list host'}` };
    const trusted = trustedForwarders.find((f) => matchesForwarder(f, t.ip, ptr));
    if (trusted) return { class: 'forwarder', classReason: 'trusted-forwarder', reason: `${pattern}, from policy.trusted_forwarders entry ${trusted}` };
  }
  if (t.spfAligned === 0 && t.overrides.size > 0) {
    return { class: 'forwarder', classReason: 'reporter-override', reason: `SPF never aligned and the reporter overrode the policy as ${[...t.overrides].sort().join(', ')}` };
  }
  if (sender) return { class: 'named', classReason: 'named-sender', reason: `the PTR name ${ptr} belongs to ${sender}` };
  if (t.dkimAligned > 0 && t.spfAligned === 0) {
    return { class: 'forwarder', classReason: 'dkim-only', reason: 'inferred: aligned DKIM but never aligned SPF, from an address that is not a known forwarder' };
  }
  return { class: 'unknown', classReason: 'no-match', reason: ptr ? `the PTR name ${ptr} is not a known sender or forwarder` : 'no PTR name, and no known sender or forwarder' };
}

/**
 * One entry per source IP over the aggregate reports in the period, most messages first, each
 * with its class (see `classify`) and why. `ours` holds the addresses Kagami sent from (the
 * store's outbound sources); `options` adds the operator's own networks and trusted forwarders.
 */
export function summariseSources(
  reports: readonly StoredReport[],
  enrich: ReadonlyMap<string, SourceEnrichment>,
  ours: ReadonlySet<string>,
  since: number | null,
  until: number | null,
  options: SourcesOptions = {},
): SourcesSummary {
  const byIp = new Map<string, Tally>();
  for (const report of reports) {
    if (report.kind !== 'aggregate' || !inPeriod(report, since, until)) continue;
    for (const rec of report.aggregateRecords) {
      const ip = rec.sourceIp;
      let s = byIp.get(ip);
      if (!s) {
        s = { ip, messages: 0, dmarcPass: 0, spfAligned: 0, dkimAligned: 0, dispositions: { none: 0, quarantine: 0, reject: 0 }, dkimPass: 0, overrides: new Set() };
        byIp.set(ip, s);
      }
      const n = rec.count;
      const dkim = isPass(rec.dkimAligned);
      const spf = isPass(rec.spfAligned);
      s.messages += n;
      if (dkim || spf) s.dmarcPass += n;
      if (dkim) s.dkimAligned += n;
      if (spf) s.spfAligned += n;
      if (rawDkimPass(rec, report.domain)) s.dkimPass += n;
      for (const o of forwardingOverrides(rec)) s.overrides.add(o);
      const d = rec.disposition?.toLowerCase();
      if (d === 'none' || d === 'quarantine' || d === 'reject') s.dispositions[d] += n;
    }
  }
  const ownNetworks = options.ownNetworks ?? [];
  // Compared as numbers, so "2001:DB8::1" in a report is the "2001:db8::1" Kagami recorded.
  const ourAddresses = [...ours];
  const isOursIp = (ip: string) => ours.has(ip) || ourAddresses.some((o) => matchesForwarder(o, ip, null));
  const trustedForwarders = options.trustedForwarders ?? [];
  const sources: SourceSummary[] = [];
  for (const t of byIp.values()) {
    const e = enrich.get(t.ip);
    const ptr = e?.ptr ?? null;
    const ptrConfirmed = ptr === null ? null : e?.confirmed !== false;
    const trustedPtr = ptrConfirmed ? ptr : null;
    const sender = identifySender(trustedPtr)?.name ?? null;
    const isOurs = isOursIp(t.ip) ? 'kagami-sent' : ownNetworks.some((n) => matchesForwarder(n, t.ip, null)) ? 'own-ip' : null;
    const c = classify(t, trustedPtr, sender, isOurs, trustedForwarders);
    const reason = ptr !== null && !ptrConfirmed && c.classReason === 'no-match' ? `the PTR name ${ptr} is not forward-confirmed (its address records do not lead back to ${t.ip}), so it names nobody` : c.reason;
    sources.push({
      ip: t.ip,
      ptr,
      baseDomain: ptr ? baseDomain(ptr) : null,
      sender,
      class: c.class,
      messages: t.messages,
      dmarcPass: t.dmarcPass,
      spfAligned: t.spfAligned,
      dkimAligned: t.dkimAligned,
      dispositions: t.dispositions,
      dkimPass: t.dkimPass,
      classReason: c.classReason,
      reason,
      ptrConfirmed,
    });
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
