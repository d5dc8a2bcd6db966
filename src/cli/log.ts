/**
 * `kagami log [--domain D] [--action A] [--since T] [--until T] [--limit N] [--json]`: the verdict
 * log, newest first: what was checked and decided for each message, and the operator's releases.
 */
import { Option, type Command } from 'commander';
import type { VerdictFilter, VerdictRow } from '../store/types.js';
import { withDataStore } from './data-store.js';
import { configFrom, fail, withCommonOptions, type CommonFlags } from './options.js';
import { limitOption, timeOption } from './time.js';
import { table } from './table.js';

/** The actions a verdict row can carry (`released` is written by `kagami quarantine release`). */
export const VERDICT_ACTIONS = ['deliver', 'quarantine', 'reject', 'tempfail', 'released'] as const;

interface LogFlags extends Omit<CommonFlags, 'domain'> {
  domain?: string;
  action?: string;
  since?: number;
  until?: number;
  limit?: number;
  json?: boolean;
}

export function readVerdicts(dataDir: string, filter: VerdictFilter): Promise<VerdictRow[]> {
  return withDataStore(dataDir, (store) => store.listVerdicts(filter), () => []);
}

/** One verdict as `kagami log --json` prints it. */
export function verdictLogJson(v: VerdictRow) {
  return {
    id: v.id,
    queueId: v.queueId,
    at: new Date(v.at).toISOString(),
    clientIp: v.clientIp,
    ptr: v.ptr,
    helo: v.helo,
    mailFrom: v.mailFrom,
    headerFrom: v.headerFrom,
    fromDomain: v.fromDomain,
    recipients: v.recipients,
    spf: v.spfResult,
    dkim: v.dkimResult,
    arc: v.arcResult,
    dmarc: v.dmarcResult,
    action: v.action,
    detail: v.detail,
  };
}

/** The reason in words: the local policy's, else DMARC's, else an operator override's comment. */
export function verdictReason(detail: unknown): string {
  const d = (detail ?? {}) as { policy?: { reason?: unknown }; dmarc?: { reason?: unknown }; override?: { comment?: unknown } };
  const reason = d.policy?.reason ?? d.dmarc?.reason ?? d.override?.comment;
  return typeof reason === 'string' ? reason : '';
}

function formatVerdicts(rows: VerdictRow[]): string {
  if (rows.length === 0) return 'No verdicts.\n';
  const cells = rows.map((v) => [
    new Date(v.at).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z'),
    v.action,
    v.fromDomain ?? '-',
    v.dmarcResult || '-',
    v.clientIp || '-',
    verdictReason(v.detail),
  ]);
  return table(['TIME', 'ACTION', 'FROM DOMAIN', 'DMARC', 'IP', 'REASON'], cells);
}

async function printLog(flags: LogFlags): Promise<void> {
  try {
    const config = configFrom({ config: flags.config, data: flags.data });
    const filter: VerdictFilter = {
      ...(flags.domain ? { fromDomain: flags.domain.toLowerCase().replace(/\.$/, '') } : {}),
      ...(flags.action ? { action: flags.action } : {}),
      ...(flags.since !== undefined ? { since: flags.since } : {}),
      ...(flags.until !== undefined ? { until: flags.until } : {}),
      ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    };
    const rows = await readVerdicts(config.data_dir, filter);
    process.stdout.write(flags.json ? JSON.stringify({ verdicts: rows.map(verdictLogJson) }, null, 2) + '\n' : formatVerdicts(rows));
  } catch (err) {
    fail(err);
  }
}

export function registerLog(program: Command): void {
  withCommonOptions(program.command('log').description('show the verdict log, newest first: what was decided for each message and why'))
    .option('--domain <name>', 'only mail whose RFC5322.From domain is this')
    .addOption(new Option('--action <action>', 'only this action').choices(VERDICT_ACTIONS))
    .addOption(new Option('--since <time>', 'from this time on: ISO 8601 (UTC without an offset) or 30m, 24h, 7d ago').argParser(timeOption))
    .addOption(new Option('--until <time>', 'before this time (same forms as --since)').argParser(timeOption))
    .addOption(new Option('--limit <n>', 'at most this many rows (default 1000)').argParser(limitOption))
    .option('--json', 'print JSON: {verdicts: [{id, queueId, at, clientIp, …, spf, dkim, arc, dmarc, action, detail}]}')
    .action((flags: LogFlags) => printLog(flags));
}
