/**
 * The DNS Tree Walk (RFC 9989 §4.10) and the Organizational Domain selection (§4.10.2), over a
 * per-verification DNS session that memoizes `_dmarc` answers: the From domain, the SPF domain
 * and each DKIM `d=` share parents, and each name is asked once.
 */
import type { DnsAnswer, DnsResolver } from '../../dns/types.js';
import { parseDmarcRecord } from './parse.js';
import type { DmarcDnsQuery, DmarcRecord, DmarcParseIssue } from './types.js';

/** §4.10: "Author Domains with more than eight labels do not result in more than eight DNS queries". */
export const MAX_WALK_QUERIES = 8;

/** The DNS access of one DMARC verification: memoized TXT lookups, every query traced. */
export interface DmarcDnsSession {
  readonly resolver: DnsResolver;
  /** TXT answers by name; a promise so concurrent walks share one query. */
  readonly txt: Map<string, Promise<DnsAnswer<string>>>;
}

export function createDmarcDnsSession(resolver: DnsResolver): DmarcDnsSession {
  return { resolver, txt: new Map() };
}

/** What one `_dmarc.<domain>` query found after §4.10 steps 2 / 6. */
export interface WalkStep {
  domain: string;
  /** The single DMARC record there, or null (none, or several: all discarded). */
  record: DmarcRecord | null;
  /** Parse warnings of that record. */
  warnings: DmarcParseIssue[];
}

export type WalkOutcome =
  | { ok: true; steps: WalkStep[]; warnings: string[] }
  | { ok: false; failedAt: string; reason: string; steps: WalkStep[]; warnings: string[] };

/** Lowercase, no trailing dot. */
export function normalizeDomain(domain: string): string {
  const lower = domain.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The names a full walk from `domain` queries, in order (§4.10 steps 1, 3, 4 and 7): the domain
 * itself; then its parent, or, from eight labels up, the name shortened to seven labels; then one
 * label less each time, down to the single top label. At most eight names.
 */
export function treeWalkNames(domain: string): string[] {
  const labels = normalizeDomain(domain).split('.');
  const names = [labels.join('.')];
  let rest = labels.length >= MAX_WALK_QUERIES ? labels.slice(-(MAX_WALK_QUERIES - 1)) : labels.slice(1);
  while (rest.length > 0) {
    names.push(rest.join('.'));
    rest = rest.slice(1);
  }
  return names;
}

/**
 * Queries `_dmarc.<name>` for each name in turn, stopping after a record with psd=y or psd=n
 * (§4.10 steps 2 and 6), or at the first temporary DNS failure.
 */
export async function walk(
  names: readonly string[],
  session: DmarcDnsSession,
  purpose: DmarcDnsQuery['purpose'],
  trace: DmarcDnsQuery[],
): Promise<WalkOutcome> {
  const steps: WalkStep[] = [];
  const warnings: string[] = [];
  for (const domain of names) {
    const name = `_dmarc.${domain}`;
    const cached = session.txt.has(name);
    let pending = session.txt.get(name);
    if (pending === undefined) {
      pending = session.resolver.query(name, 'TXT');
      session.txt.set(name, pending);
    }
    const answer = await pending;
    if (answer.kind === 'tempfail') {
      trace.push({ name, type: 'TXT', purpose, outcome: 'tempfail', detail: answer.reason, cached });
      return { ok: false, failedAt: name, reason: answer.reason, steps, warnings };
    }
    const texts = answer.kind === 'records' ? answer.records : [];
    const parsed = texts.map(parseDmarcRecord).flatMap((p) => (p.ok ? [p] : []));
    const single = parsed.length === 1 ? parsed[0]! : null;
    if (parsed.length > 1) warnings.push(`${name} has ${parsed.length} DMARC records: all discarded (RFC 9989 §4.10)`);
    const detail =
      parsed.length === 0
        ? texts.length === 0
          ? answer.kind
          : `${texts.length} TXT record(s), none DMARC`
        : single
          ? `1 DMARC record (psd=${single.record.psd})`
          : `${parsed.length} DMARC records: all discarded`;
    trace.push({ name, type: 'TXT', purpose, outcome: answer.kind, detail, cached });
    steps.push({ domain, record: single?.record ?? null, warnings: single?.warnings ?? [] });
    if (single && single.record.psd !== 'u') break;
  }
  return { ok: true, steps, warnings };
}

/**
 * §4.10.2 selection over a walk that started at `start`, longest name first:
 * 1. a record with psd=n: that domain;
 * 2. a record with psd=y, other than the start's: the domain one label below it;
 * 3. otherwise the domain with a record and the fewest labels;
 * and with no record at all, the start itself.
 */
export function selectOrganizationalDomain(
  start: string,
  steps: readonly WalkStep[],
): { organizationalDomain: string; rule: 'psd=n' | 'psd=y' | 'fewest-labels' | 'no-record' } {
  const withRecords = steps.filter((s) => s.record !== null);
  for (const step of withRecords) {
    if (step.record!.psd === 'n') return { organizationalDomain: step.domain, rule: 'psd=n' };
    if (step.record!.psd === 'y' && step.domain !== start) {
      const keep = step.domain.split('.').length + 1;
      return { organizationalDomain: start.split('.').slice(-keep).join('.'), rule: 'psd=y' };
    }
  }
  const shortest = withRecords.at(-1);
  return shortest
    ? { organizationalDomain: shortest.domain, rule: 'fewest-labels' }
    : { organizationalDomain: start, rule: 'no-record' };
}
