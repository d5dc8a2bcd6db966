/**
 * Deterministic generator of DMARC aggregate reports for bench/ingest: realistic reporters
 * (Google-, Microsoft-, Yahoo-like and a long tail, some in the RFC 9990 namespace), 1–50
 * records each (few records far more often than many, as in real mailboxes), IPv4 and IPv6
 * sources from the ranges big senders use, DKIM/SPF results, dispositions and override reasons.
 * Each report is gzip-compressed and written as `NN/org!domain!begin!end!N.xml.gz`
 * (1000 files per folder). Same seed, same bytes.
 *
 *   node bench/ingest/generate.ts DIR [COUNT] [SEED] [--json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/** mulberry32: a small, fast, seedable PRNG (the bytes must not depend on Math.random). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const hex = (r: Rand, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(r() * 16)];
  return s;
};
const digits = (r: Rand, n: number): string => {
  let s = String(int(r, 1, 9));
  for (let i = 1; i < n; i++) s += String(Math.floor(r() * 10));
  return s;
};

interface Reporter {
  org: string;
  email: string;
  extra?: string;
  weight: number;
  /** RFC 9990 (urn:ietf:params:xml:ns:dmarc-2.0) reports. */
  v2?: boolean;
  xsd?: boolean;
  envelopeTo?: string;
  reportId: (r: Rand, i: number) => string;
  indent: string;
}

const REPORTERS: readonly Reporter[] = [
  { org: 'google.com', email: 'noreply-dmarc-support@google.com', extra: 'https://support.google.com/a/answer/2466580', weight: 38, reportId: (r) => digits(r, 19), indent: '  ' },
  { org: 'Outlook.com', email: 'dmarcreport@microsoft.com', weight: 20, xsd: true, envelopeTo: 'hotmail.com', reportId: (r) => hex(r, 32), indent: '  ' },
  { org: 'Enterprise Outlook', email: 'dmarcreport@microsoft.com', weight: 8, xsd: true, envelopeTo: 'contoso.onmicrosoft.com', reportId: (r) => hex(r, 32), indent: '  ' },
  { org: 'Yahoo', email: 'dmarchelp@yahooinc.com', weight: 10, reportId: (r) => digits(r, 10), indent: '' },
  { org: 'AMAZON-SES', email: 'postmaster@amazonses.com', weight: 3, reportId: (r) => `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`, indent: '    ' },
  { org: 'Mail.Ru', email: 'dmarc_support@corp.mail.ru', weight: 3, reportId: (r) => digits(r, 20), indent: '\t' },
  { org: 'web.de', email: 'noreply-dmarc@sicher.web.de', weight: 2, reportId: (r) => hex(r, 32), indent: '\t' },
  { org: 'GMX', email: 'noreply-dmarc@gmx.net', weight: 2, reportId: (r) => hex(r, 32), indent: '\t' },
  { org: 'Mimecast', email: 'dmarc-report@mimecast.org', weight: 3, reportId: (r) => `${hex(r, 24)}`, indent: '  ' },
  { org: 'comcast.net', email: 'dmarc_reports@comcast.net', weight: 2, reportId: (r) => `${digits(r, 12)}.comcast`, indent: '  ' },
  { org: 'Fastmail Pty Ltd', email: 'dmarc-reports@fastmail.com', weight: 2, v2: true, reportId: (r) => digits(r, 9), indent: '  ' },
  { org: 'Example Receiver (RFC 9990)', email: 'dmarc-reports@receiver.example', weight: 4, v2: true, reportId: (r) => `${hex(r, 16)}`, indent: '  ' },
  { org: 'zoho.com', email: 'noreply-dmarc@zoho.com', weight: 1, reportId: (r) => digits(r, 12), indent: '  ' },
  { org: 'Proofpoint', email: 'dmarc_rua@emaildefense.proofpoint.com', weight: 2, reportId: (r) => hex(r, 32), indent: '  ' },
];
const TOTAL_WEIGHT = REPORTERS.reduce((s, x) => s + x.weight, 0);

function pickReporter(r: Rand): Reporter {
  let w = r() * TOTAL_WEIGHT;
  for (const x of REPORTERS) if ((w -= x.weight) < 0) return x;
  return REPORTERS[0]!;
}

/** The domains being reported on: a few hundred, as for a hosting provider. */
const WORDS = ['acme', 'globex', 'initech', 'umbrella', 'stark', 'wayne', 'hooli', 'vandelay', 'wonka', 'tyrell', 'cyberdyne', 'soylent', 'oscorp', 'aperture', 'massive', 'nakatomi'];
const TLDS = ['com', 'net', 'org', 'de', 'co.uk', 'io', 'fr', 'nl'];
const DOMAINS: readonly string[] = Array.from({ length: 300 }, (_, i) => `${WORDS[i % WORDS.length]}${i >= WORDS.length ? i : ''}.${TLDS[i % TLDS.length]}`);

interface Sender {
  /** A source address from the ranges this sender uses. */
  ip: (r: Rand) => string;
  dkim?: (r: Rand, domain: string) => { domain: string; selector: string };
  spf: (domain: string) => string;
  weight: number;
  /** The share of messages that pass; the rest fail SPF or DKIM. */
  pass: number;
}

const v4 = (a: number, b: number, r: Rand, c?: number): string => `${a}.${b}.${c ?? int(r, 0, 255)}.${int(r, 1, 254)}`;
const SENDERS: readonly Sender[] = [
  // Google Workspace
  { ip: (r) => (r() < 0.6 ? v4(209, 85, r, int(r, 128, 255)) : `2a00:1450:${hex(r, 4)}:${int(r, 1, 9)}::${hex(r, 3)}`), dkim: (_r, d) => ({ domain: d, selector: 'google' }), spf: (d) => d, weight: 30, pass: 0.97 },
  // Microsoft 365
  { ip: (r) => (r() < 0.5 ? v4(40, 107, r) : `2a01:111:f400:${hex(r, 4)}::${hex(r, 3)}`), dkim: (r, d) => ({ domain: d, selector: pick(r, ['selector1', 'selector2']) }), spf: (d) => d, weight: 20, pass: 0.95 },
  // Amazon SES
  { ip: (r) => v4(54, 240, r), dkim: (r) => ({ domain: 'amazonses.com', selector: hex(r, 32) }), spf: () => 'amazonses.com', weight: 10, pass: 0.9 },
  // SendGrid
  { ip: (r) => v4(167, 89, r), dkim: (_r, d) => ({ domain: d, selector: 's1' }), spf: () => 'sendgrid.net', weight: 8, pass: 0.92 },
  // Mailchimp / Mandrill
  { ip: (r) => v4(198, 2, r, int(r, 128, 191)), dkim: (_r, d) => ({ domain: d, selector: 'k1' }), spf: () => 'mail.mcsv.net', weight: 6, pass: 0.9 },
  // Our own MX
  { ip: (r) => (r() < 0.7 ? v4(203, 0, r, 113) : `2001:db8:${hex(r, 4)}::${hex(r, 2)}`), dkim: (_r, d) => ({ domain: d, selector: 'kagami2026' }), spf: (d) => d, weight: 12, pass: 0.99 },
  // forwarders and lists: DKIM survives, SPF fails
  { ip: (r) => v4(int(r, 60, 99), int(r, 0, 255), r), dkim: (_r, d) => ({ domain: d, selector: 'google' }), spf: () => 'lists.example.org', weight: 6, pass: 0.2 },
  // unknown senders, spoofing
  { ip: (r) => (r() < 0.85 ? v4(int(r, 1, 223), int(r, 0, 255), r) : `2${hex(r, 3)}:${hex(r, 4)}:${hex(r, 4)}::${hex(r, 4)}`), spf: (d) => `${d.split('.')[0]}-mail.example`, weight: 8, pass: 0.02 },
];
const SENDER_WEIGHT = SENDERS.reduce((s, x) => s + x.weight, 0);
function pickSender(r: Rand): Sender {
  let w = r() * SENDER_WEIGHT;
  for (const x of SENDERS) if ((w -= x.weight) < 0) return x;
  return SENDERS[0]!;
}

/** Record counts 1..50, skewed small: most real reports carry a handful of source IPs. */
function recordCount(r: Rand): number {
  const u = r();
  return 1 + Math.floor(49 * u * u * u);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One report as XML text. `i` makes the report id unique per (org, report id). */
export function generateReport(r: Rand, i: number): { name: string; xml: string } {
  const rep = pickReporter(r);
  const domain = pick(r, DOMAINS);
  const day = 20_000 + int(r, 0, 364); // days since the epoch (2024-10-04 onwards)
  const begin = day * 86_400;
  const end = begin + 86_399;
  const reportId = `${rep.reportId(r, i)}${i.toString(36)}`;
  const p = pick(r, ['none', 'none', 'quarantine', 'reject'] as const);
  const n = rep.indent ? '\n' : '';
  const I = (depth: number): string => (rep.indent ? n + rep.indent.repeat(depth) : '');
  const el = (depth: number, tag: string, value: string | number): string => `${I(depth)}<${tag}>${typeof value === 'string' ? esc(value) : value}</${tag}>`;

  let x = `<?xml version="1.0" encoding="UTF-8" ?>${n}`;
  x += rep.v2
    ? '<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">'
    : rep.xsd
      ? '<feedback xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
      : '<feedback>';
  if (rep.v2 || rep.xsd) x += el(1, 'version', '1.0');
  x += `${I(1)}<report_metadata>`;
  x += el(2, 'org_name', rep.org) + el(2, 'email', rep.email);
  if (rep.extra) x += el(2, 'extra_contact_info', rep.extra);
  x += el(2, 'report_id', reportId);
  x += `${I(2)}<date_range>${el(3, 'begin', begin)}${el(3, 'end', end)}${I(2)}</date_range>`;
  if (rep.v2) x += el(2, 'generator', 'Example DMARC Aggregate Reporter v1.2');
  x += `${I(1)}</report_metadata>`;
  x += `${I(1)}<policy_published>${el(2, 'domain', domain)}`;
  if (!rep.v2 || r() < 0.5) x += el(2, 'adkim', pick(r, ['r', 'r', 's'])) + el(2, 'aspf', pick(r, ['r', 'r', 's']));
  x += el(2, 'p', p) + el(2, 'sp', pick(r, ['none', p]));
  if (rep.v2) x += el(2, 'np', pick(r, ['none', 'reject'])) + el(2, 'testing', pick(r, ['n', 'n', 'y'])) + el(2, 'discovery_method', pick(r, ['treewalk', 'psl']));
  else x += el(2, 'pct', 100) + (rep.xsd ? el(2, 'fo', 0) : '');
  x += `${I(1)}</policy_published>`;

  const records = recordCount(r);
  for (let k = 0; k < records; k++) {
    const s = pickSender(r);
    const ip = s.ip(r);
    const passing = r() < s.pass;
    const dkimSig = s.dkim ? s.dkim(r, domain) : undefined;
    const dkimAuth = dkimSig ? (passing || r() < 0.5 ? 'pass' : pick(r, ['fail', 'temperror', 'neutral'])) : undefined;
    const spfDomain = s.spf(domain);
    const spfAuth = passing ? 'pass' : pick(r, ['fail', 'softfail', 'neutral', 'none', 'permerror']);
    const dkimAligned = dkimAuth === 'pass' && dkimSig!.domain === domain ? 'pass' : 'fail';
    const spfAligned = spfAuth === 'pass' && spfDomain === domain ? 'pass' : 'fail';
    const dmarcPass = dkimAligned === 'pass' || spfAligned === 'pass';
    let disposition: string = dmarcPass ? 'none' : p;
    if (rep.v2 && dmarcPass && r() < 0.3) disposition = 'pass';
    const reason = !dmarcPass && disposition !== p ? undefined : !dmarcPass && r() < 0.15 ? pick(r, ['forwarded', 'local_policy', 'mailing_list', 'sampled_out']) : undefined;
    if (reason) disposition = 'none';
    const count = r() < 0.6 ? int(r, 1, 5) : r() < 0.9 ? int(r, 6, 200) : int(r, 201, 25_000);

    x += `${I(1)}<record>${I(2)}<row>`;
    x += el(3, 'source_ip', ip) + el(3, 'count', count);
    x += `${I(3)}<policy_evaluated>${el(4, 'disposition', disposition)}${el(4, 'dkim', dkimAligned)}${el(4, 'spf', spfAligned)}`;
    if (reason) x += `${I(4)}<reason>${el(5, 'type', reason)}${reason === 'local_policy' ? el(5, 'comment', 'arc=pass') : ''}${I(4)}</reason>`;
    x += `${I(3)}</policy_evaluated>${I(2)}</row>`;
    x += `${I(2)}<identifiers>`;
    if (rep.envelopeTo) x += el(3, 'envelope_to', rep.envelopeTo);
    if (rep.xsd || rep.v2 || r() < 0.3) x += el(3, 'envelope_from', spfDomain);
    x += el(3, 'header_from', domain) + `${I(2)}</identifiers>`;
    x += `${I(2)}<auth_results>`;
    if (dkimSig) {
      x += `${I(3)}<dkim>${el(4, 'domain', dkimSig.domain)}`;
      if (!rep.xsd) x += el(4, 'selector', dkimSig.selector);
      x += el(4, 'result', dkimAuth!);
      if (rep.v2 && dkimAuth !== 'pass') x += el(4, 'human_result', 'signature did not verify');
      x += `${I(3)}</dkim>`;
      // Many receivers also report the ESP's own signature.
      if (r() < 0.25) x += `${I(3)}<dkim>${el(4, 'domain', `esp${int(r, 1, 9)}.example.net`)}${el(4, 'selector', 'es1')}${el(4, 'result', 'pass')}${I(3)}</dkim>`;
    }
    x += `${I(3)}<spf>${el(4, 'domain', spfDomain)}`;
    if (rep.xsd || rep.v2) x += el(4, 'scope', 'mfrom');
    x += `${el(4, 'result', spfAuth)}${I(3)}</spf>`;
    x += `${I(2)}</auth_results>${I(1)}</record>`;
  }
  x += `${n}</feedback>${n}`;
  const reporterName = rep.org.toLowerCase().replace(/[^a-z0-9.-]+/g, '-');
  return { name: `${reporterName}!${domain}!${begin}!${end}!${i}.xml.gz`, xml: x };
}

export interface GenerateStats {
  count: number;
  xmlBytes: number[];
  gzBytes: number[];
  records: number;
  seconds: number;
}

/** Writes `count` gzip reports under `dir` (1000 per sub-folder). */
export function generate(dir: string, count: number, seed: number, onProgress?: (done: number) => void): GenerateStats {
  const r = prng(seed);
  const xmlBytes: number[] = [];
  const gzBytes: number[] = [];
  let records = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, String(Math.floor(i / 1000)).padStart(3, '0'));
    if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
    const { name, xml } = generateReport(r, i);
    records += (xml.match(/<record>/g) ?? []).length;
    const gz = gzipSync(xml);
    writeFileSync(path.join(sub, name), gz);
    xmlBytes.push(Buffer.byteLength(xml));
    gzBytes.push(gz.length);
    if ((i + 1) % 10_000 === 0) onProgress?.(i + 1);
  }
  return { count, xmlBytes, gzBytes, records, seconds: (performance.now() - t0) / 1000 };
}

if (import.meta.main) {
  const args = process.argv.slice(2).filter((a) => a !== '--json');
  const [dir, count = '100000', seed = '1'] = args;
  if (!dir) {
    process.stderr.write('usage: node bench/ingest/generate.ts DIR [COUNT] [SEED] [--json]\n');
    process.exit(2);
  }
  const s = generate(dir, Number(count), Number(seed), (d) => process.stderr.write(`bench/ingest: generated ${d}\n`));
  if (process.argv.includes('--json')) {
    // Sizes sorted, for the percentiles run.ts prints.
    const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
    process.stdout.write(JSON.stringify({ count: s.count, records: s.records, seconds: s.seconds, xmlBytes: sorted(s.xmlBytes), gzBytes: sorted(s.gzBytes) }) + '\n');
  } else {
    process.stdout.write(`${s.count} reports, ${s.records} records, ${s.seconds.toFixed(1)} s\n`);
  }
}
