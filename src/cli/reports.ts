/**
 * `kagami reports import PATH... | list | show ID | rejected`: DMARC aggregate and TLS reports
 * taken from files, messages, mbox files and Maildirs into the store (issue #5).
 */
import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import { KagamiError } from '../core/errors.js';
import { resolveDomains } from '../runtime.js';
import { importPaths, intakeLimits, type ImportSummary } from '../reports/ingest/files.js';
import type { RejectedInput, ReportFilter, ReportKind, ReportSummary, Store, StoredReport } from '../store/types.js';
import { withDataStore } from './data-store.js';
import { configFrom, fail, withCommonOptions, type CommonFlags } from './options.js';
import { limitOption, timeOption } from './time.js';
import { table } from './table.js';

interface ReportsFlags extends Omit<CommonFlags, 'domain'> {
  domain?: string;
  kind?: ReportKind;
  since?: number;
  until?: number;
  limit?: number;
  json?: boolean;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

function withStore<T>(flags: { config?: string | undefined; data?: string | undefined }, create: boolean, work: (store: Store, config: ReturnType<typeof configFrom>) => Promise<T>, empty: T): Promise<T> {
  const config = configFrom({ config: flags.config, data: flags.data });
  return withDataStore(config.data_dir, (store) => work(store, config), () => empty, { create });
}

/** One report as `reports list --json` prints it. */
export function reportJson(r: ReportSummary) {
  return {
    id: r.id,
    kind: r.kind,
    org: r.org,
    reportId: r.reportId,
    domain: r.domain,
    begin: iso(r.begin),
    end: iso(r.end),
    receivedAt: new Date(r.receivedAt).toISOString(),
    source: r.source,
    records: r.records,
    messages: r.messages,
    failed: r.failed,
  };
}

function rejectedJson(r: RejectedInput) {
  return { id: r.id, at: new Date(r.at).toISOString(), source: r.source, name: r.name, code: r.code, reason: r.reason, size: r.size };
}

async function runImport(paths: string[], flags: ReportsFlags): Promise<void> {
  try {
    const tty = process.stderr.isTTY && !flags.json;
    const result = await withStore(flags, true, async (store, config) => {
      const bar = tty ? new cliProgress.SingleBar({ format: 'importing [{bar}] {value}/{total} files', clearOnComplete: true }, cliProgress.Presets.shades_classic) : null;
      let started = false;
      const summary = await importPaths(paths, {
        store,
        limits: intakeLimits(config.reports.limits),
        listReports: Boolean(flags.json),
        onProgress: (done, total, name) => {
          if (bar) {
            if (!started) {
              bar.start(total, 0);
              started = true;
            }
            bar.update(done);
          } else if (!flags.json && (total <= 1000 || done % 1000 === 0 || done === total)) {
            // Off a terminal, a line per file up to 1000 files; past that, one per 1000.
            process.stderr.write(`[${done}/${total}] ${name}\n`);
          }
        },
      });
      if (bar && started) bar.stop();
      const ours = new Set((await resolveDomains(config, store, false)).map((d) => d.toLowerCase()));
      const foreign = summary.domains.filter((d) => d !== '' && !ours.has(d));
      return { summary, foreign };
    }, { summary: { files: 0, stored: 0, duplicates: 0, rejected: [], reports: [], domains: [] } as ImportSummary, foreign: [] as string[] });
    const { summary, foreign } = result;
    if (flags.json) {
      process.stdout.write(
        JSON.stringify({ files: summary.files, stored: summary.stored, duplicates: summary.duplicates, rejected: summary.rejected, reports: summary.reports, foreignDomains: foreign }, null, 2) + '\n',
      );
    } else {
      const lines = [`${summary.files} files: ${summary.stored} reports stored, ${summary.duplicates} duplicates, ${summary.rejected.length} rejected.`];
      for (const r of summary.rejected) lines.push(`  rejected ${r.name}: ${r.code} ${r.reason}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    if (foreign.length > 0) {
      const named = foreign.length > 20 ? `${foreign.slice(0, 20).join(', ')} and ${foreign.length - 20} more` : foreign.join(', ');
      process.stderr.write(`kagami: warning: reports for domains that are not ours (see --domain / the domains setting): ${named}\n`);
    }
  } catch (err) {
    fail(err);
  }
}

function formatList(rows: ReportSummary[]): string {
  if (rows.length === 0) return 'No reports.\n';
  const cells = rows.map((r) => [iso(r.begin).slice(0, 16).replace('T', ' '), r.kind, r.domain || '-', r.org || '-', String(r.messages), String(r.failed), r.id]);
  return table(['BEGIN', 'KIND', 'DOMAIN', 'REPORTER', 'MESSAGES', 'FAILED', 'ID'], cells);
}

async function runList(flags: ReportsFlags): Promise<void> {
  try {
    const filter: ReportFilter = {
      ...(flags.domain ? { domain: flags.domain.toLowerCase().replace(/\.$/, '') } : {}),
      ...(flags.kind ? { kind: flags.kind } : {}),
      ...(flags.since !== undefined ? { since: flags.since } : {}),
      ...(flags.until !== undefined ? { until: flags.until } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    };
    const rows = await withStore(flags, false, (store) => store.listReports(filter), [] as ReportSummary[]);
    process.stdout.write(flags.json ? JSON.stringify({ reports: rows.map(reportJson) }, null, 2) + '\n' : formatList(rows));
  } catch (err) {
    fail(err);
  }
}

function formatReport(r: StoredReport): string {
  const lines = [
    `${r.id}  (${r.kind}, ${r.source})`,
    `  reporter ${r.org}, report id ${r.reportId}`,
    `  domain ${r.domain || '-'}, ${iso(r.begin)} to ${iso(r.end)}`,
    ...(r.kind === 'failure' ? [] : [`  ${r.messages} messages${r.kind === 'tls' ? `, ${r.failed} failed sessions` : ''}`]),
  ];
  const f = r.failure;
  if (f) {
    lines.push(`  failed message from ${f.sourceIp ?? 'an unknown address'}${f.arrivalDate !== null ? ` at ${iso(f.arrivalDate)}` : ''}: ${f.authFailure ?? 'auth'} failure, aligned ${f.identityAlignment ?? '-'}, ${f.deliveryResult ?? 'delivery not reported'}`);
    lines.push(`  From ${f.headerFrom ?? '-'}  Subject ${f.subject ?? '-'}`);
    lines.push(`  MAIL FROM ${f.originalMailFrom === null ? '-' : `<${f.originalMailFrom}>`}${f.dkimDomain ? `  DKIM d=${f.dkimDomain}${f.dkimSelector ? ` s=${f.dkimSelector}` : ''}` : ''}`);
    if (f.authenticationResults) lines.push(`  Authentication-Results: ${f.authenticationResults}`);
  }
  for (const x of r.aggregateRecords) {
    lines.push(`  ${x.sourceIp}  count ${x.count}  ${x.disposition ?? '-'}  dkim ${x.dkimAligned ?? '-'} spf ${x.spfAligned ?? '-'}  from ${x.headerFrom}`);
  }
  for (const p of r.tlsPolicies) lines.push(`  policy ${p.policyType} ${p.policyDomain}: ${p.successful} ok, ${p.failed} failed`);
  for (const f of r.tlsFailures) lines.push(`    ${f.resultType}  ${f.sendingIp ?? '-'} -> ${f.receivingMx ?? '-'} (${f.receivingIp ?? '-'})  ${f.failedCount}`);
  if (r.warnings.length > 0) lines.push(`  ${r.warnings.length} parse warnings (see --json)`);
  return lines.join('\n') + '\n';
}

async function runShow(id: string, flags: ReportsFlags): Promise<void> {
  try {
    const report = await withStore<StoredReport | null>(flags, false, (store) => store.getReport(id), null);
    if (!report) throw new KagamiError('KGM-REPORT-UNKNOWN', `"${id}"`);
    const json = { ...reportJson(report), policy: report.policy, warnings: report.warnings, aggregateRecords: report.aggregateRecords, tlsPolicies: report.tlsPolicies, tlsFailures: report.tlsFailures, failure: report.failure };
    process.stdout.write(flags.json ? JSON.stringify({ report: json }, null, 2) + '\n' : formatReport(report));
  } catch (err) {
    fail(err);
  }
}

async function runRejected(flags: ReportsFlags): Promise<void> {
  try {
    const rows = await withStore(flags, false, (store) => store.listRejectedInputs(flags.limit !== undefined ? { limit: flags.limit } : {}), [] as RejectedInput[]);
    if (flags.json) process.stdout.write(JSON.stringify({ rejected: rows.map(rejectedJson) }, null, 2) + '\n');
    else if (rows.length === 0) process.stdout.write('No rejected inputs.\n');
    else process.stdout.write(rows.map((r) => `${new Date(r.at).toISOString()}  ${r.code}  ${r.name}: ${r.reason}`).join('\n') + '\n');
  } catch (err) {
    fail(err);
  }
}

export function registerReports(program: Command): void {
  const reports = program.command('reports').description('DMARC aggregate and failure reports and TLS reports: import, list, show, rejected');
  withCommonOptions(reports.command('import').description('import report files, messages (.eml), mbox files, Maildirs or directories'))
    .argument('<path...>', 'files or directories')
    .option('--json', 'print JSON: {files, stored, duplicates, rejected: [{name, code, reason}], reports: [...], foreignDomains}')
    .action((paths: string[], flags: ReportsFlags) => runImport(paths, flags));
  withCommonOptions(reports.command('list').description('list stored reports, newest period first'))
    .option('--domain <name>', 'only reports about this domain')
    .addOption(new Option('--kind <kind>', 'only this kind').choices(['aggregate', 'failure', 'tls']))
    .addOption(new Option('--since <time>', 'periods ending at or after this: ISO 8601 or 30m, 24h, 7d ago').argParser(timeOption))
    .addOption(new Option('--until <time>', 'periods beginning before this (same forms as --since)').argParser(timeOption))
    .addOption(new Option('--limit <n>', 'at most this many rows (default 1000)').argParser(limitOption))
    .option('--json', 'print JSON: {reports: [{id, kind, org, reportId, domain, begin, end, receivedAt, source, records, messages, failed}]}')
    .action((flags: ReportsFlags) => runList(flags));
  withCommonOptions(reports.command('show').description('show one stored report with its records'))
    .argument('<id>', 'the report id, "<reporter org>!<report id>"')
    .option('--json', 'print JSON: {report: {...list fields, policy, warnings, aggregateRecords, tlsPolicies, tlsFailures, failure}}')
    .action((id: string, flags: ReportsFlags) => runShow(id, flags));
  withCommonOptions(reports.command('rejected').description('list inputs that were not stored, and why'))
    .addOption(new Option('--limit <n>', 'at most this many rows (default 1000)').argParser(limitOption))
    .option('--json', 'print JSON: {rejected: [{id, at, source, name, code, reason, size}]}')
    .action((flags: ReportsFlags) => runRejected(flags));
}
