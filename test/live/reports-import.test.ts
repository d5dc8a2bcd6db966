/**
 * `kagami reports import|list|show|rejected` as an operator runs them (built CLI), over the shared
 * corpus: DMARC aggregate reports, DMARC failure reports and TLS reports; then an mbox and a Maildir
 * built from corpus messages.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { unpackReport } from '../../src/reports/ingest/decompress.js';
import { parseAggregateReport } from '../../src/reports/model/parse-aggregate.js';
import { parseTlsReport } from '../../src/reports/model/tlsrpt.js';
import { kagamiCommand } from '../support/live.js';
import { tempDir } from '../support/server.js';

const CORPUS = '/work/shared/corpus';
const DIRS = ['dmarc-aggregate', 'dmarc-forensic', 'tlsrpt'].map((d) => path.join(CORPUS, d));

interface Summary {
  files: number;
  stored: number;
  duplicates: number;
  rejected: Array<{ name: string; code: string; reason: string }>;
  reports: Array<{ id: string; kind: string; domain: string; outcome: string }>;
  foreignDomains: string[];
}

function walk(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = path.join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
}

/** What the parsers alone say about the plain report files (not messages) of the corpus. */
async function parserView(): Promise<{ ids: Set<string>; refused: string[] }> {
  const ids = new Set<string>();
  const refused: string[] = [];
  for (const file of DIRS.flatMap(walk).filter((f) => /\.(xml|gz|zip|json)$/i.test(f))) {
    const un = await unpackReport(readFileSync(file), path.basename(file));
    if (!un.ok) {
      refused.push(file);
      continue;
    }
    for (const f of un.files) {
      if (/\.json$/i.test(f.name)) {
        const r = parseTlsReport(f.bytes);
        if (r.ok) ids.add(`${r.report.organizationName}!${r.report.reportId}`);
        else refused.push(file);
      } else {
        const r = parseAggregateReport(f.bytes);
        if (r.ok) ids.add(`${r.report.metadata.orgName}!${r.report.metadata.reportId}`);
        else refused.push(file);
      }
    }
  }
  return { ids, refused: refused.sort() };
}

async function json<T>(args: string[]): Promise<T> {
  const r = await kagamiCommand(args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('kagami reports (built CLI, shared corpus)', () => {
  const data = tempDir('kagami-reports-');
  let first: Summary;
  let firstStderr: string;

  beforeAll(async () => {
    const r = await kagamiCommand(['reports', 'import', '--data', data, '--json', ...DIRS]);
    expect(r.code, r.stderr).toBe(0);
    first = JSON.parse(r.stdout) as Summary;
    firstStderr = r.stderr;
  });

  it('stores every report the parsers accept and rejects what they refuse, with codes', async () => {
    const view = await parserView();
    const ids = new Set(first.reports.map((r) => r.id));
    for (const id of view.ids) expect(ids.has(id), id).toBe(true);
    expect(first.stored).toBe(ids.size);
    expect(first.stored + first.duplicates).toBe(first.reports.length);
    const plainRejected = first.rejected.map((r) => r.name).filter((n) => !n.includes('.eml')).sort();
    expect(plainRejected).toEqual(view.refused);
    expect(first).toMatchObject({ files: 88, stored: 65, duplicates: 18 });
    // 8 of them failure reports (the two linkedin files, LF and CRLF, are one report; they start
    // with an mbox "From " line and are read as one-message mboxes).
    expect(first.reports.filter((r) => r.kind === 'failure' && r.outcome === 'stored')).toHaveLength(8);
    const codes = first.rejected.map((r) => r.code);
    // Refused: two ARF abuse complaints (not DMARC), the failure report whose MIME is broken, and
    // two invalid XML files. The Mimecast gzip with CRLF appended is stored.
    expect(codes.filter((c) => c === 'KGM-REPORT-NOT-DMARC')).toHaveLength(2);
    expect(codes.filter((c) => c === 'KGM-REPORT-FAILURE')).toHaveLength(1);
    expect(codes.filter((c) => c === 'KGM-REPORT-XML')).toHaveLength(2);
    expect(first.rejected).toHaveLength(5);
    expect(ids.has('Mimecast!157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e73082e5e')).toBe(true);
    expect(first.rejected.every((r) => r.reason.length > 0)).toBe(true);
    expect(first.foreignDomains).toContain('random.net');
    expect(firstStderr).toContain('warning: reports for domains that are not ours');
  });

  it('importing the whole corpus again changes no row counts', async () => {
    const before = await json<{ reports: unknown[] }>(['reports', 'list', '--data', data, '--json']);
    const rejectedBefore = await json<{ rejected: unknown[] }>(['reports', 'rejected', '--data', data, '--json']);
    const again = await json<Summary>(['reports', 'import', '--data', data, '--json', ...DIRS]);
    expect(again).toMatchObject({ files: 88, stored: 0, duplicates: first.reports.length });
    expect(again.rejected).toHaveLength(first.rejected.length);
    const after = await json<{ reports: unknown[] }>(['reports', 'list', '--data', data, '--json']);
    const rejectedAfter = await json<{ rejected: unknown[] }>(['reports', 'rejected', '--data', data, '--json']);
    expect(after.reports).toHaveLength(before.reports.length);
    expect(before.reports).toHaveLength(65);
    expect(rejectedAfter.rejected).toHaveLength(rejectedBefore.rejected.length);
    expect(rejectedBefore.rejected).toHaveLength(5);
  });

  it('lists reports as JSON, filtered by domain and time', async () => {
    const { reports } = await json<{ reports: Array<Record<string, unknown>> }>(['reports', 'list', '--data', data, '--json', '--domain', 'random.net']);
    expect(reports.length).toBeGreaterThanOrEqual(1);
    expect(Object.keys(reports[0]!).sort()).toEqual(
      ['begin', 'domain', 'end', 'failed', 'id', 'kind', 'messages', 'org', 'receivedAt', 'records', 'reportId', 'source'].sort(),
    );
    expect(reports.every((r) => r.domain === 'random.net')).toBe(true);
    expect(reports.find((r) => r.id === 'Outlook.com!a4f4ef0654474d3faa5dca167a34a86a')).toMatchObject({ kind: 'aggregate', source: 'file', records: 2 });
    const recent = await json<{ reports: Array<{ end: string }> }>(['reports', 'list', '--data', data, '--json', '--since', '2026-01-01']);
    expect(recent.reports.length).toBeGreaterThan(0);
    expect(recent.reports.length).toBeLessThan(65);
    expect(recent.reports.every((r) => r.end >= '2026-01-01')).toBe(true);
    const tls = await json<{ reports: Array<{ kind: string }> }>(['reports', 'list', '--data', data, '--json', '--kind', 'tls']);
    expect(tls.reports.length).toBeGreaterThan(0);
    expect(tls.reports.every((r) => r.kind === 'tls')).toBe(true);
  });

  it('shows one aggregate report and one TLS report with their records', async () => {
    const { report } = await json<{ report: Record<string, unknown> & { aggregateRecords: unknown[] } }>([
      'reports', 'show', 'Outlook.com!a4f4ef0654474d3faa5dca167a34a86a', '--data', data, '--json',
    ]);
    expect(report).toMatchObject({ id: 'Outlook.com!a4f4ef0654474d3faa5dca167a34a86a', domain: 'random.net', kind: 'aggregate' });
    expect(report.aggregateRecords).toHaveLength(2);
    expect(report.aggregateRecords[0]).toHaveProperty('sourceIp');
    expect(report.aggregateRecords[0]).toHaveProperty('dkimAligned');
    const { reports } = await json<{ reports: Array<{ id: string }> }>(['reports', 'list', '--data', data, '--json', '--domain', 'company-y.example']);
    const tls = await json<{ report: { tlsPolicies: unknown[]; tlsFailures: unknown[] } }>(['reports', 'show', reports[0]!.id, '--data', data, '--json']);
    expect(tls.report.tlsPolicies.length).toBeGreaterThan(0);
    expect(tls.report.tlsFailures.length).toBeGreaterThan(0);
    const missing = await kagamiCommand(['reports', 'show', 'nobody!nothing', '--data', data]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('KGM-REPORT-UNKNOWN');
  });

  it('lists and shows failure reports with the failed message they describe', async () => {
    const { reports } = await json<{ reports: Array<{ id: string; kind: string; domain: string }> }>(['reports', 'list', '--data', data, '--json', '--kind', 'failure']);
    expect(reports).toHaveLength(8);
    const id = 'gen.example!20220719055748.4AE9D403CC@gen.example';
    expect(reports.find((r) => r.id === id)).toMatchObject({ kind: 'failure', domain: 'consumer.example' });
    const { report } = await json<{ report: { failure: Record<string, unknown>; policy: Record<string, unknown> } }>(['reports', 'show', id, '--data', data, '--json']);
    expect(report.failure).toMatchObject({ sourceIp: '192.0.2.2', authFailure: 'dmarc', identityAlignment: 'dkim', dkimDomain: 'consumer.example', subject: 'This is the original subject' });
    expect(report.policy).toMatchObject({ reporter: 'gen.example', reportedDomain: 'consumer.example', userAgent: 'DMARC-Filter/1.2.3' });
    const plain = await kagamiCommand(['reports', 'show', id, '--data', data]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toContain('failed message from 192.0.2.2');
    expect(plain.stdout).toContain('Subject This is the original subject');
  });

  it('lists the rejected inputs (the invalid/ files among them) with their codes', async () => {
    const { rejected } = await json<{ rejected: Array<{ name: string; code: string; reason: string; size: number; at: string }> }>([
      'reports', 'rejected', '--data', data, '--json',
    ]);
    expect(rejected.find((r) => r.name.endsWith('parsedmarc/invalid/empty.xml'))).toMatchObject({ code: 'KGM-REPORT-XML', reason: 'empty document' });
    expect(rejected.find((r) => r.name.endsWith('parsedmarc/invalid_xml.xml'))?.code).toBe('KGM-REPORT-XML');
    expect(rejected.find((r) => r.name.endsWith('stalwart-mail-auth/001.eml'))?.code).toBe('KGM-REPORT-NOT-DMARC');
    expect(rejected.find((r) => r.name.endsWith('historical/subject.eml'))?.code).toBe('KGM-REPORT-FAILURE');
  });

  it('takes an mbox and a Maildir, and prints a plain summary without --json', async () => {
    const dir = tempDir('kagami-reports-mail-');
    const msg = (p: string) => readFileSync(path.join(CORPUS, p), 'latin1');
    writeFileSync(
      path.join(dir, 'reports.mbox'),
      ['dmarc-aggregate/stalwart-mail-auth/101.eml', 'dmarc-aggregate/stalwart-mail-auth/102.eml']
        .map((p) => `From MAILER-DAEMON Thu Dec  3 10:00:00 2026\n${msg(p).replace(/\r\n/g, '\n')}\n`)
        .join(''),
      'latin1',
    );
    const maildir = path.join(dir, 'Maildir');
    for (const sub of ['new', 'cur', 'tmp']) mkdirSync(path.join(maildir, sub), { recursive: true });
    copyFileSync(path.join(CORPUS, 'dmarc-aggregate/stalwart-mail-auth/103.eml'), path.join(maildir, 'new', '1.host'));
    copyFileSync(path.join(CORPUS, 'tlsrpt/stalwart-mail-auth/rpt01.eml'), path.join(maildir, 'cur', '2.host:2,S'));
    const fresh = tempDir('kagami-reports-fresh-');
    const r = await kagamiCommand(['reports', 'import', '--data', fresh, path.join(dir, 'reports.mbox'), maildir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('3 files: 4 reports stored, 0 duplicates, 0 rejected.');
    const { reports } = await json<{ reports: Array<{ kind: string }> }>(['reports', 'list', '--data', fresh, '--json']);
    expect(reports.map((x) => x.kind).sort()).toEqual(['aggregate', 'aggregate', 'aggregate', 'tls']);
  });

  it('applies the bounds of [reports.limits] from the configuration', async () => {
    const dir = tempDir('kagami-reports-limits-');
    const config = path.join(dir, 'kagami.toml');
    // outlook.xml holds 2 records in 2113 bytes; google.xml 1 record in 1197 bytes.
    writeFileSync(config, '[reports.limits]\nmax_records = 1\nmax_decompressed_bytes = 2000\n');
    const outlook = path.join(CORPUS, 'dmarc-aggregate/cry-inc/outlook.xml');
    const google = path.join(CORPUS, 'dmarc-aggregate/cry-inc/google.xml');
    const bounded = await json<Summary>(['reports', 'import', '--config', config, '--data', path.join(dir, 'data'), '--json', outlook, google]);
    expect(bounded.stored).toBe(1);
    expect(bounded.rejected).toEqual([{ name: outlook, code: 'KGM-REPORT-TOO-LARGE', reason: '2113 bytes exceeds 2000' }]);
    writeFileSync(config, '[reports.limits]\nmax_records = 1\n');
    const byRecords = await json<Summary>(['reports', 'import', '--config', config, '--data', path.join(dir, 'data2'), '--json', outlook]);
    expect(byRecords.rejected).toEqual([{ name: outlook, code: 'KGM-REPORT-TOO-LARGE', reason: '2 records exceeds 1' }]);
  });
});
