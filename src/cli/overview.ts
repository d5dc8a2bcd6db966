/**
 * `kagami overview --domain D [--since T] [--until T]`: volume, DMARC pass rate and its course
 * per day, sources by class, what receivers quarantined or rejected and which of it looks
 * legitimate, and the reporters (issue #5), from the stored aggregate reports.
 */
import type { Command } from 'commander';
import { buildDomainOverview, type DomainOverview } from '../analysis/overview.js';
import { sourceOptionsFrom } from '../runtime.js';
import type { ReportFilter } from '../store/types.js';
import { loadAnalysisInput } from './analysis-input.js';
import { configFrom, domainArgument, fail, withAnalysisOptions } from './options.js';
import { table } from './table.js';

interface OverviewFlags {
  config?: string;
  data?: string;
  dns?: string[];
  domain: string;
  since?: number;
  until?: number;
  json?: boolean;
}

const percent = (r: number | null) => (r === null ? '-' : `${(r * 100).toFixed(1)}%`);

export function formatOverview(o: DomainOverview): string {
  if (o.reports === 0 && o.failures.reports === 0) return `No aggregate reports for ${o.domain}${o.since || o.until ? ' in that period' : ''}.\n`;
  const out: string[] = [];
  out.push(`${o.domain}: ${o.messages} messages in ${o.reports} reports, DMARC pass ${o.dmarcPass} (${percent(o.passRate)})`);
  out.push(`period: ${o.since ?? 'start'} to ${o.until ?? 'now'}`);
  out.push(`dispositions: none ${o.dispositions.none}, quarantine ${o.dispositions.quarantine}, reject ${o.dispositions.reject}`);
  out.push('');
  out.push(table(['DAY', 'MESSAGES', 'DMARC-PASS', 'RATE'], o.passRateByDay.map((d) => [d.day, String(d.messages), String(d.dmarcPass), percent(d.passRate)])).trimEnd());
  out.push('');
  out.push(table(['CLASS', 'SOURCES', 'MESSAGES', 'DMARC-PASS'], Object.entries(o.classes).map(([k, c]) => [k, String(c.sources), String(c.messages), String(c.dmarcPass)])).trimEnd());
  out.push('');
  if (o.blocked.length === 0) out.push('Nothing was quarantined or rejected.');
  else {
    out.push('Quarantined or rejected:');
    out.push(
      table(
        ['SOURCE', 'QUAR', 'REJ', 'CLASS', 'LEGITIMATE?', 'WHY'],
        o.blocked.map((b) => [b.ip, String(b.quarantine), String(b.reject), b.class + (b.sender ? ` (${b.sender})` : ''), b.legitimate ? 'looks so' : 'no sign', b.reasons.join('; ') || '-']),
      ).trimEnd(),
    );
  }
  out.push('');
  out.push(table(['REPORTER', 'EMAIL', 'REPORTS', 'FIRST-PERIOD-END', 'LAST-PERIOD-END'], o.reporters.map((r) => [r.org || '-', r.email ?? '-', String(r.reports), r.firstPeriodEnd, r.lastPeriodEnd])).trimEnd());
  if (o.failures.reports > 0) {
    out.push('');
    out.push(`${o.failures.reports} failure reports; the newest:`);
    out.push(table(['ARRIVED', 'SOURCE', 'FAILED', 'FROM', 'SUBJECT', 'ID'], o.failures.latest.map((f) => [f.at, f.sourceIp ?? '-', f.authFailure ?? '-', f.headerFrom ?? '-', f.subject ?? '-', f.id])).trimEnd());
  }
  return out.join('\n') + '\n';
}

async function runOverview(flags: OverviewFlags): Promise<void> {
  try {
    const domain = domainArgument(flags.domain);
    const config = configFrom({ config: flags.config, data: flags.data, ...(flags.dns ? { dns: flags.dns } : {}) });
    const since = flags.since ?? null;
    const until = flags.until ?? null;
    // Aggregate and failure reports: the overview counts the first and lists the second.
    const filter: ReportFilter = { domain, ...(since !== null ? { since } : {}), ...(until !== null ? { until } : {}) };
    const now = Date.now();
    const { reports, enrich, ours } = await loadAnalysisInput(config, filter, now);
    const overview = buildDomainOverview(reports, { domain, since, until, now, enrich, ours, sources: sourceOptionsFrom(config) });
    process.stdout.write(flags.json ? JSON.stringify(overview, null, 2) + '\n' : formatOverview(overview));
  } catch (err) {
    fail(err);
  }
}

export function registerOverview(program: Command): void {
  withAnalysisOptions(program.command('overview').description('a domain at a glance: volume, DMARC pass rate per day, sources by class, quarantined and rejected mail, reporters, failure reports'))
    .option('--json', 'print JSON (docs/json-shapes.md, "Domain overview")')
    .action((flags: OverviewFlags) => runOverview(flags));
}
