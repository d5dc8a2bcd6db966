/**
 * `kagami sources --domain D` (who sends as D, from stored DMARC aggregate reports, with reverse
 * DNS and named-sender identification) and `kagami tls-reports --domain D` (issue #5).
 */
import { Option, type Command } from 'commander';
import { summariseSources, summariseTls, type SourceSummary, type TlsSummary } from '../analysis/sources.js';
import { buildResolver } from '../main.js';
import type { DnsResolver } from '../dns/types.js';
import type { ReportFilter, Store, StoredReport } from '../store/types.js';
import { withDataStore } from './data-store.js';
import { configFrom, fail, withCommonOptions } from './options.js';
import { timeOption } from './time.js';

interface SourcesFlags {
  config?: string;
  data?: string;
  dns?: string[];
  domain: string;
  since?: number;
  until?: number;
  json?: boolean;
}

/** Reverse lookups in flight at once. */
const PTR_CONCURRENCY = 8;
/** Reports read for one summary. */
const REPORT_LIMIT = 100_000;

const collect = (value: string, previous: string[] = []) => [...previous, value];

const normaliseDomain = (d: string) => d.trim().toLowerCase().replace(/\.$/, '');

async function loadReports(store: Store, filter: ReportFilter): Promise<StoredReport[]> {
  const list = await store.listReports({ ...filter, limit: REPORT_LIMIT });
  const out: StoredReport[] = [];
  for (const s of list) {
    const r = await store.getReport(s.id);
    if (r) out.push(r);
  }
  return out;
}

/** The first PTR name of each address; a failed or empty lookup gives null. Each IP is asked once. */
export async function reverseAll(resolver: DnsResolver, ips: readonly string[], concurrency = PTR_CONCURRENCY): Promise<Map<string, { ptr: string | null }>> {
  const result = new Map<string, { ptr: string | null }>();
  const todo = [...new Set(ips)];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < todo.length) {
      const ip = todo[next++]!;
      let ptr: string | null = null;
      try {
        const a = await resolver.reverse(ip);
        if (a.kind === 'records' && a.records.length > 0) ptr = a.records[0]!.toLowerCase().replace(/\.$/, '');
      } catch {
        ptr = null;
      }
      result.set(ip, { ptr });
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  return result;
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function formatSources(domain: string, sources: SourceSummary[]): string {
  if (sources.length === 0) return `No aggregate report records for ${domain}.\n`;
  const rows = sources.map((s) => [
    s.ip,
    String(s.messages),
    String(s.dmarcPass),
    String(s.spfAligned),
    String(s.dkimAligned),
    `${s.dispositions.none}/${s.dispositions.quarantine}/${s.dispositions.reject}`,
    s.class,
    s.sender ?? '-',
    s.ptr ?? '-',
  ]);
  return table(['SOURCE', 'MESSAGES', 'DMARC-PASS', 'SPF', 'DKIM', 'NONE/QUAR/REJ', 'CLASS', 'SENDER', 'PTR'], rows);
}

async function runSources(flags: SourcesFlags): Promise<void> {
  try {
    const domain = normaliseDomain(flags.domain);
    const config = configFrom({ config: flags.config, data: flags.data, ...(flags.dns ? { dns: flags.dns } : {}) });
    const since = flags.since ?? null;
    const until = flags.until ?? null;
    const filter: ReportFilter = { domain, kind: 'aggregate', ...(since !== null ? { since } : {}), ...(until !== null ? { until } : {}) };
    const reports = await withDataStore(config.data_dir, (store) => loadReports(store, filter), () => [] as StoredReport[]);
    const ips = reports.flatMap((r) => r.aggregateRecords.map((x) => x.sourceIp));
    let enrich = new Map<string, { ptr: string | null }>();
    if (ips.length > 0) {
      const resolver = buildResolver(config);
      try {
        enrich = await reverseAll(resolver, ips);
      } finally {
        resolver.close();
      }
    }
    const { sources } = summariseSources(reports, enrich, new Set<string>(), since, until);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    process.stdout.write(flags.json ? JSON.stringify({ domain, since: iso(since), until: iso(until), sources }, null, 2) + '\n' : formatSources(domain, sources));
  } catch (err) {
    fail(err);
  }
}

function formatTls(s: TlsSummary, domain: string): string {
  if (s.policies.length === 0) return `No TLS reports for ${domain}.\n`;
  const lines = [`${domain}: ${s.successful} successful, ${s.failed} failed sessions`];
  for (const p of s.policies) lines.push(`  policy ${p.policyType} ${p.policyDomain}: ${p.successful} ok, ${p.failed} failed`);
  if (s.failures.length > 0) {
    lines.push('');
    lines.push(table(['RESULT', 'MX', 'COUNT'], s.failures.map((f) => [f.resultType, f.receivingMx ?? '-', String(f.count)])).trimEnd());
  }
  return lines.join('\n') + '\n';
}

async function runTls(flags: SourcesFlags): Promise<void> {
  try {
    const domain = normaliseDomain(flags.domain);
    const config = configFrom({ config: flags.config, data: flags.data });
    const reports = await withDataStore(config.data_dir, (store) => loadReports(store, { domain, kind: 'tls' }), () => [] as StoredReport[]);
    const summary = summariseTls(reports, domain);
    process.stdout.write(flags.json ? JSON.stringify(summary, null, 2) + '\n' : formatTls(summary, domain));
  } catch (err) {
    fail(err);
  }
}

export function registerSources(program: Command): void {
  withCommonOptions(program.command('sources').description('who sends mail as a domain, from stored DMARC aggregate reports'))
    .requiredOption('--domain <name>', 'the domain (policy_published/domain of the reports)')
    .addOption(new Option('--since <time>', 'reports whose period ends at or after this: ISO 8601 or 30m, 24h, 7d ago').argParser(timeOption))
    .addOption(new Option('--until <time>', 'reports whose period begins before this (same forms as --since)').argParser(timeOption))
    .option('--dns <host[:port]>', 'DNS server for the reverse lookups (repeatable); default /etc/resolv.conf', collect)
    .option('--json', 'print JSON: {domain, since, until, sources: [{ip, ptr, baseDomain, sender, class, messages, dmarcPass, spfAligned, dkimAligned, dispositions}]}')
    .action((flags: SourcesFlags) => runSources(flags));
}

export function registerTlsReports(program: Command): void {
  withCommonOptions(program.command('tls-reports').description('what stored SMTP TLS reports (RFC 8460) say about a domain'))
    .requiredOption('--domain <name>', 'the policy domain')
    .option('--json', 'print JSON: {domain, policies: [{policyType, policyDomain, successful, failed}], successful, failed, failures: [{resultType, receivingMx, count}]}')
    .action((flags: SourcesFlags) => runTls(flags));
}
