/**
 * File intake for DMARC aggregate and TLS reports (issue #5): report files (.xml, .json, gzip, zip),
 * messages (.eml), mbox files, Maildir folders and plain directories. Every input that breaks a
 * bound or does not parse is recorded as a rejected input with its KGM- code; none stops the batch.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import type { Store } from '../../store/types.js';
import type { ReportKind, ReportSource } from '../../store/types.js';
import { parseAggregateReport, type ParseAggregateLimits } from '../model/parse-aggregate.js';
import { parseTlsReport } from '../model/tlsrpt.js';
import { parseFailureReport } from '../model/failure.js';
import { DEFAULT_UNPACK_LIMITS, isGzip, isZip, unpackReport, type UnpackLimits } from './decompress.js';

export interface IntakeLimits {
  unpack: Partial<UnpackLimits>;
  parse: Partial<ParseAggregateLimits>;
  /** Most bytes of TLS report JSON. Default 10 MiB. */
  maxTlsBytes: number;
}

export const DEFAULT_INTAKE_LIMITS: Readonly<IntakeLimits> = Object.freeze({ unpack: {}, parse: {}, maxTlsBytes: 10 * 1024 * 1024 });

/** The configured bounds (`[reports.limits]`) in the shape the intake takes. */
export function intakeLimits(c: {
  max_decompressed_bytes: number;
  max_ratio: number;
  max_members: number;
  max_xml_depth: number;
  max_records: number;
  max_tls_bytes: number;
}): IntakeLimits {
  return {
    unpack: { maxDecompressedBytes: c.max_decompressed_bytes, maxRatio: c.max_ratio, maxMembers: c.max_members },
    parse: { maxDepth: c.max_xml_depth, maxRecords: c.max_records, maxBytes: c.max_decompressed_bytes },
    maxTlsBytes: c.max_tls_bytes,
  };
}

export interface IntakeDeps {
  store: Store;
  limits?: Partial<IntakeLimits>;
  source?: ReportSource;
  /** Called after each input file: how many are done of how many, and its name. */
  onProgress?: (done: number, total: number, name: string) => void;
  /**
   * Reports about a domain this does not accept are refused (KGM-REPORT-FOREIGN). Mail and IMAP
   * intake pass our domains; file imports take any domain (the CLI warns instead).
   */
  acceptDomain?: (domain: string) => boolean;
  /**
   * importPaths: list every report found in the summary (default true). A 100 000-file import
   * would hold 100 000 entries to the end; without the list it keeps counts and domains only.
   */
  listReports?: boolean;
}

export interface RejectedItem {
  name: string;
  code: string;
  reason: string;
}

export interface StoredItem {
  id: string;
  kind: ReportKind;
  domain: string;
  outcome: 'stored' | 'duplicate';
}

export interface ImportSummary {
  /** Input files read (each mbox, message, or report file counts once). */
  files: number;
  stored: number;
  duplicates: number;
  rejected: RejectedItem[];
  /** Every report found, stored or duplicate (empty when `listReports` is false). */
  reports: StoredItem[];
  /** The distinct domains the reports found are about, sorted. */
  domains: string[];
}

/** Extensions a directory walk takes; a path named on its own is always tried. */
const REPORT_EXT = /\.(xml|gz|zip|json|eml|mbox|msg)$/i;

interface Ctx {
  store: Store;
  limits: IntakeLimits;
  source: ReportSource;
  summary: ImportSummary;
  acceptDomain?: (domain: string) => boolean;
}

/** Imports the reports carried by one message (a mail to our report address). */
export async function importMessageBytes(bytes: Buffer, name: string, deps: IntakeDeps): Promise<ImportSummary> {
  const summary: ImportSummary = { files: 1, stored: 0, duplicates: 0, rejected: [], reports: [], domains: [] };
  const ctx: Ctx = {
    store: deps.store,
    limits: { ...DEFAULT_INTAKE_LIMITS, ...deps.limits },
    source: deps.source ?? 'mail',
    summary,
    ...(deps.acceptDomain ? { acceptDomain: deps.acceptDomain } : {}),
  };
  const max = ctx.limits.unpack.maxDecompressedBytes ?? DEFAULT_UNPACK_LIMITS.maxDecompressedBytes;
  if (bytes.length > max) await reject(ctx, name, 'KGM-REPORT-TOO-LARGE', `a ${bytes.length}-byte message exceeds ${max}`, null, bytes.length);
  else await importMessage(ctx, name, bytes);
  summary.domains = [...new Set(summary.reports.map((r) => r.domain))].sort();
  return summary;
}

/** Imports every report under the given paths (files, directories, Maildirs, mbox files). */
export async function importPaths(paths: readonly string[], deps: IntakeDeps): Promise<ImportSummary> {
  const limits: IntakeLimits = { ...DEFAULT_INTAKE_LIMITS, ...deps.limits };
  const summary: ImportSummary = { files: 0, stored: 0, duplicates: 0, rejected: [], reports: [], domains: [] };
  const ctx: Ctx = { store: deps.store, limits, source: deps.source ?? 'file', summary };
  const list = deps.listReports ?? true;
  const domains = new Set<string>();
  const inputs: string[] = [];
  for (const p of paths) inputs.push(...(await collect(p, true)));
  // BATCH files share one transaction: one commit and fsync per batch, not per report. Each report
  // is still atomic (a savepoint) and the same org + report id again is still a duplicate; a
  // crash loses at most the open batch, which importing the same files again restores.
  // IN_FLIGHT files at a time: while one waits for the thread pool (stat, read: ~0.2 ms a file),
  // another is parsed and stored. Each file reports into a summary of its own, merged in input
  // order, so the summary and the progress keep the order of the files.
  for (let start = 0; start < inputs.length; start += BATCH) {
    const end = Math.min(start + BATCH, inputs.length);
    await deps.store.batch(async (store) => {
      const parts: Array<ImportSummary | undefined> = [];
      let next = start;
      let merged = start;
      let failed = false;
      const worker = async (): Promise<void> => {
        while (!failed && next < end) {
          const i = next++;
          const part: ImportSummary = { files: 1, stored: 0, duplicates: 0, rejected: [], reports: [], domains: [] };
          try {
            await importFile({ ...ctx, store, summary: part }, inputs[i]!);
          } catch (err) {
            failed = true; // the batch rolls back; the other workers take no new file
            throw err;
          }
          parts[i - start] = part;
          for (let p = parts[merged - start]; p !== undefined && merged < end; p = parts[merged - start]) {
            summary.files += p.files;
            summary.stored += p.stored;
            summary.duplicates += p.duplicates;
            for (const r of p.rejected) summary.rejected.push(r); // an mbox may hold many: no spread
            for (const r of p.reports) {
              domains.add(r.domain);
              if (list) summary.reports.push(r);
            }
            merged++;
            deps.onProgress?.(merged, inputs.length, inputs[merged - 1]!);
          }
        }
      };
      const settled = await Promise.allSettled(Array.from({ length: IN_FLIGHT }, worker));
      const error = settled.find((r) => r.status === 'rejected');
      if (error) throw error.reason;
    });
  }
  summary.domains = [...domains].sort();
  return summary;
}

/** Files per transaction in importPaths: a batch holds the store's write lock while it runs. */
const BATCH = 100;
/** Files importPaths works on at once (their store writes still go one after another). */
const IN_FLIGHT = 3;

/** Imports one path (a file, directory, Maildir or mbox). */
export function importPath(p: string, deps: IntakeDeps): Promise<ImportSummary> {
  return importPaths([p], deps);
}

async function collect(p: string, named: boolean): Promise<string[]> {
  let st;
  try {
    st = await stat(p);
  } catch {
    return named ? [p] : []; // importFile records it as unreadable
  }
  if (st.isFile()) return named || REPORT_EXT.test(p) ? [p] : [];
  if (!st.isDirectory()) return [];
  const entries = (await readdir(p, { withFileTypes: true })).filter((e) => !e.name.startsWith('.'));
  const names = new Set(entries.map((e) => e.name));
  if (names.has('cur') && names.has('new')) {
    // Maildir: every file in new/ and cur/ is a message.
    const out: string[] = [];
    for (const sub of ['new', 'cur']) {
      const files = (await readdir(path.join(p, sub), { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.'));
      out.push(...files.map((e) => path.join(p, sub, e.name)).sort());
    }
    return out;
  }
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) out.push(...(await collect(path.join(p, e.name), false)));
  return out;
}

async function reject(ctx: Ctx, name: string, code: string, reason: string, bytes: Buffer | null, size: number): Promise<void> {
  ctx.summary.rejected.push({ name, code, reason });
  // The id depends on name, code and content only, so importing the same input again adds no row.
  const id = createHash('sha256').update(`${ctx.source}\0${name}\0${code}\0`).update(bytes ?? Buffer.alloc(0)).digest('hex').slice(0, 32);
  await ctx.store.recordRejectedInput({ id, at: Date.now(), source: ctx.source, name, code, reason, size });
}

async function importFile(ctx: Ctx, file: string): Promise<void> {
  const max = ctx.limits.unpack.maxDecompressedBytes ?? DEFAULT_UNPACK_LIMITS.maxDecompressedBytes;
  let bytes: Buffer;
  try {
    // Synchronous on purpose: importFile serves file imports only (a CLI with nothing else to
    // serve), and a sync stat + read of a small report costs ~0.01 ms against ~0.2 ms through
    // the thread pool (measured in bench/ingest).
    const st = statSync(file);
    if (st.size > max) return reject(ctx, file, 'KGM-REPORT-TOO-LARGE', `${st.size} bytes exceeds ${max}`, null, st.size);
    bytes = readFileSync(file);
  } catch (err) {
    return reject(ctx, file, 'KGM-REPORT-NO-REPORT', `unreadable: ${(err as Error).message}`, null, 0);
  }
  if (/\.mbox$/i.test(file) || isMbox(bytes)) {
    const messages = splitMbox(bytes);
    for (let i = 0; i < messages.length; i++) await importMessage(ctx, `${file}#${i + 1}`, messages[i]!);
    if (messages.length === 0) await reject(ctx, file, 'KGM-REPORT-NO-REPORT', 'mbox holds no message', bytes, bytes.length);
    return;
  }
  if (/\.(eml|msg)$/i.test(file) || looksLikeMessage(bytes)) return importMessage(ctx, file, bytes);
  return importBlob(ctx, file, bytes);
}

function isMbox(bytes: Buffer): boolean {
  return bytes.subarray(0, 5).toString('latin1') === 'From ';
}

/** Splits an mbox on its "From " separator lines (mboxrd ">From " lines are unquoted). */
export function splitMbox(bytes: Buffer): Buffer[] {
  const text = bytes.toString('latin1');
  const parts = text.split(/^From [^\n]*\n/m).slice(1);
  return parts
    .map((p) => p.replace(/^>(>*From )/gm, '$1'))
    .filter((p) => p.trim() !== '')
    .map((p) => Buffer.from(p, 'latin1'));
}

/** Header lines first ("Name: value"), not XML, JSON or an archive. */
function looksLikeMessage(bytes: Buffer): boolean {
  if (isGzip(bytes) || isZip(bytes)) return false;
  const head = bytes.subarray(0, 2048).toString('latin1');
  return /^[A-Za-z][A-Za-z0-9-]*:[^\n]*\r?\n/.test(head) && /^(from|to|subject|date|message-id|received|return-path|mime-version|content-type|delivered-to|dkim-signature|x-[a-z0-9-]+):/im.test(head);
}

const REPORT_TYPES = /^(application\/(gzip|x-gzip|zip|x-zip-compressed|xml|tlsrpt\+json|tlsrpt\+gzip|tlsrpt|json|octet-stream)|text\/xml|text\/json)$/i;

async function importMessage(ctx: Ctx, name: string, bytes: Buffer): Promise<void> {
  let mail;
  try {
    mail = await simpleParser(bytes, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
  } catch (err) {
    return reject(ctx, name, 'KGM-REPORT-NO-REPORT', `not a readable message: ${(err as Error).message}`, bytes, bytes.length);
  }
  const reports = mail.attachments.filter(
    (a) => REPORT_TYPES.test(a.contentType) && (a.contentType !== 'application/octet-stream' || REPORT_EXT.test(a.filename ?? '')),
  );
  if (reports.length > 0) {
    for (const a of reports) {
      const fname = a.filename ?? (/json|tlsrpt/i.test(a.contentType) ? 'report.json' : 'report.xml');
      const tlsHint = /tlsrpt/i.test(a.contentType);
      await importBlob(ctx, `${name}#${fname}`, a.content, tlsHint);
    }
    return;
  }
  const ctype = mail.headers.get('content-type');
  const params = typeof ctype === 'object' && ctype && 'params' in ctype ? (ctype.params as Record<string, string | undefined>) : {};
  const reportType = params['report-type'] ?? '';
  const feedback = mail.attachments.find((a) => a.contentType === 'message/feedback-report');
  const body = (mail.text ?? '').trim();
  if (feedback || reportType.toLowerCase() === 'feedback-report' || /^\s*Sender Domain:/im.test(body)) {
    return importFailure(ctx, name, bytes, mail, feedback?.content ?? null);
  }
  if (body.startsWith('<?xml') || body.startsWith('<feedback')) return importBlob(ctx, `${name}#body.xml`, Buffer.from(body, 'utf8'));
  return reject(ctx, name, 'KGM-REPORT-NO-REPORT', 'the message has no aggregate or TLS report attachment', bytes, bytes.length);
}

type ParsedMail = Awaited<ReturnType<typeof simpleParser>>;

/** A DMARC failure report (RFC 9991 / RFC 6591 ARF, or Exim's plain-text notice). */
async function importFailure(ctx: Ctx, name: string, bytes: Buffer, mail: ParsedMail, feedback: Buffer | null): Promise<void> {
  const original = mail.attachments.find((a) => a.contentType === 'message/rfc822' || a.contentType === 'text/rfc822-headers');
  const from = mail.headers.get('from');
  const fromText = from && typeof from === 'object' && 'text' in from ? String(from.text) : '';
  const digest = createHash('sha256').update(feedback ?? Buffer.alloc(0)).update('\0').update(original?.content ?? Buffer.from(mail.text ?? '')).digest('hex');
  const parsed = parseFailureReport({
    feedback: feedback === null ? null : feedback.toString('utf8'),
    original: original ? original.content.toString('utf8') : null,
    text: mail.text ?? '',
    from: fromText,
    date: mail.date ? mail.date.getTime() : null,
    messageId: mail.messageId ?? null,
    digest,
  });
  if (!parsed.ok) return reject(ctx, name, parsed.code, parsed.reason, bytes, bytes.length);
  const domain = parsed.report.reportedDomain;
  if (ctx.acceptDomain && !ctx.acceptDomain(domain)) {
    return reject(ctx, name, 'KGM-REPORT-FOREIGN', `a failure report about ${domain}, which is not one of ours`, bytes, bytes.length);
  }
  const outcome = await ctx.store.storeFailureReport(parsed.report, bytes, ctx.source, parsed.warnings);
  note(ctx, `${parsed.report.reporter}!${parsed.report.reportId}`, 'failure', domain, outcome);
}

async function importBlob(ctx: Ctx, name: string, bytes: Buffer, tlsHint = false): Promise<void> {
  const unpacked = await unpackReport(bytes, path.basename(name), ctx.limits.unpack);
  if (!unpacked.ok) return reject(ctx, name, unpacked.code, unpacked.reason, bytes, bytes.length);
  if (unpacked.files.length === 0) return reject(ctx, name, 'KGM-REPORT-NO-REPORT', 'the archive is empty', bytes, bytes.length);
  const many = unpacked.files.length > 1;
  for (const f of unpacked.files) {
    const label = many ? `${name}#${f.name}` : name;
    const kind = classify(f.name, f.bytes, tlsHint);
    if (kind === 'tls') {
      const parsed = parseTlsReport(f.bytes, ctx.limits.maxTlsBytes);
      if (!parsed.ok) {
        await reject(ctx, label, parsed.code, parsed.reason, f.bytes, f.bytes.length);
        continue;
      }
      const domain = parsed.report.policies[0]?.policyDomain ?? '';
      if (ctx.acceptDomain && !ctx.acceptDomain(domain)) {
        await reject(ctx, label, 'KGM-REPORT-FOREIGN', `a TLS report about ${domain || 'no domain'}, which is not one of ours`, f.bytes, f.bytes.length);
        continue;
      }
      const outcome = await ctx.store.storeTlsReport(parsed.report, f.bytes, ctx.source, parsed.warnings);
      note(ctx, `${parsed.report.organizationName}!${parsed.report.reportId}`, 'tls', parsed.report.policies[0]?.policyDomain ?? '', outcome);
    } else {
      const parsed = parseAggregateReport(f.bytes, ctx.limits.parse);
      if (!parsed.ok) {
        await reject(ctx, label, parsed.code, parsed.reason, f.bytes, f.bytes.length);
        continue;
      }
      if (ctx.acceptDomain && !ctx.acceptDomain(parsed.report.policy.domain)) {
        await reject(ctx, label, 'KGM-REPORT-FOREIGN', `an aggregate report about ${parsed.report.policy.domain}, which is not one of ours`, f.bytes, f.bytes.length);
        continue;
      }
      const outcome = await ctx.store.storeAggregateReport(parsed.report, f.bytes, ctx.source, parsed.warnings);
      note(ctx, `${parsed.report.metadata.orgName}!${parsed.report.metadata.reportId}`, 'aggregate', parsed.report.policy.domain, outcome);
    }
  }
}

function note(ctx: Ctx, id: string, kind: ReportKind, domain: string, outcome: 'stored' | 'duplicate'): void {
  if (outcome === 'stored') ctx.summary.stored++;
  else ctx.summary.duplicates++;
  ctx.summary.reports.push({ id, kind, domain: domain.toLowerCase(), outcome });
}

/** TLS when named .json or the text starts with '{'; aggregate XML otherwise. */
function classify(name: string, bytes: Buffer, tlsHint: boolean): 'tls' | 'aggregate' {
  if (/\.json$/i.test(name)) return 'tls';
  if (/\.xml$/i.test(name)) return 'aggregate';
  const start = bytes.subarray(0, 64).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  if (start.startsWith('{')) return 'tls';
  if (start.startsWith('<')) return 'aggregate';
  return tlsHint ? 'tls' : 'aggregate';
}
