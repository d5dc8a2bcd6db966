/**
 * `kagami sources --domain D` (who sends as D, from stored DMARC aggregate reports, with reverse
 * DNS kept in the store, named senders, forwarders, and the addresses Kagami itself sent from)
 * and `kagami tls-reports --domain D` (issue #5).
 */
import type { Command } from 'commander';
import { loadReports } from '../analysis/load.js';
import { summariseSources, summariseTls, type SourceSummary, type TlsSummary } from '../analysis/sources.js';
import { sourceOptionsFrom } from '../runtime.js';
import type { ReportFilter, StoredReport } from '../store/types.js';
import { loadAnalysisInput } from './analysis-input.js';
import { withDataStore } from './data-store.js';
import { configFrom, domainArgument, fail, withAnalysisOptions, withCommonOptions } from './options.js';
import { table } from './table.js';

interface SourcesFlags {
  config?: string;
  data?: string;
  dns?: string[];
  domain: string;
  since?: number;
  until?: number;
  json?: boolean;
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
    s.classReason,
  ]);
  return table(['SOURCE', 'MESSAGES', 'DMARC-PASS', 'SPF', 'DKIM', 'NONE/QUAR/REJ', 'CLASS', 'SENDER', 'PTR', 'WHY'], rows);
}

async function runSources(flags: SourcesFlags): Promise<void> {
  try {
    const domain = domainArgument(flags.domain);
    const config = configFrom({ config: flags.config, data: flags.data, ...(flags.dns ? { dns: flags.dns } : {}) });
    const since = flags.since ?? null;
    const until = flags.until ?? null;
    const filter: ReportFilter = { domain, kind: 'aggregate', ...(since !== null ? { since } : {}), ...(until !== null ? { until } : {}) };
    const { reports, enrich, ours } = await loadAnalysisInput(config, filter, Date.now());
    const { sources } = summariseSources(reports, enrich, ours, since, until, sourceOptionsFrom(config));
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
    const domain = domainArgument(flags.domain);
    const config = configFrom({ config: flags.config, data: flags.data });
    const reports = await withDataStore(config.data_dir, (store) => loadReports(store, { domain, kind: 'tls' }), () => [] as StoredReport[]);
    const summary = summariseTls(reports, domain);
    process.stdout.write(flags.json ? JSON.stringify(summary, null, 2) + '\n' : formatTls(summary, domain));
  } catch (err) {
    fail(err);
  }
}

export function registerSources(program: Command): void {
  withAnalysisOptions(program.command('sources').description('who sends mail as a domain, from stored DMARC aggregate reports'))
    .option('--json', 'print JSON: {domain, since, until, sources: [{ip, ptr, baseDomain, sender, class, messages, dmarcPass, spfAligned, dkimAligned, dispositions, dkimPass, classReason, reason, ptrConfirmed}]}')
    .action((flags: SourcesFlags) => runSources(flags));
}

export function registerTlsReports(program: Command): void {
  withCommonOptions(program.command('tls-reports').description('what stored SMTP TLS reports (RFC 8460) say about a domain'))
    .requiredOption('--domain <name>', 'the policy domain')
    .option('--json', 'print JSON: {domain, policies: [{policyType, policyDomain, successful, failed}], successful, failed, failures: [{resultType, receivingMx, count}]}')
    .action((flags: SourcesFlags) => runTls(flags));
}
