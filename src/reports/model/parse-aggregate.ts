/**
 * Pure, bounded parsing of DMARC aggregate reports (RFC 7489 Appendix C, RFC 9990).
 * DOCTYPE and ENTITY declarations are refused before the parser sees the text, so entity
 * expansion (billion laughs) and external entities (XXE) cannot happen; nesting depth is
 * checked by a linear tag scan first, so 100k-deep input never reaches a recursive parser.
 */
import { isIP } from 'node:net';
import { XMLParser } from 'fast-xml-parser';
import type {
  AggregateRecord,
  AggregateReport,
  AggregateSchema,
  DkimAuthResult,
  DkimAuthValue,
  Disposition,
  DmarcResultValue,
  OverrideType,
  ParseWarning,
  PolicyOverrideReason,
  PolicyPublished,
  PolicyValue,
  ReportMetadata,
  SpfAuthResult,
  SpfAuthValue,
} from './aggregate.js';

export interface ParseAggregateLimits {
  /** Deepest element nesting accepted. Default 20 (a report needs 5). */
  maxDepth: number;
  /** Most `<record>` elements accepted. Default 100 000. */
  maxRecords: number;
  /** Most bytes of XML accepted. Default 50 MiB. */
  maxBytes: number;
}

export const DEFAULT_PARSE_LIMITS: Readonly<ParseAggregateLimits> = Object.freeze({
  maxDepth: 20,
  maxRecords: 100_000,
  maxBytes: 50 * 1024 * 1024,
});

export type ParseAggregateCode = 'KGM-REPORT-TOO-LARGE' | 'KGM-REPORT-XML' | 'KGM-REPORT-NOT-DMARC';

export type ParseAggregateResult =
  | { ok: true; report: AggregateReport; warnings: ParseWarning[] }
  | { ok: false; code: ParseAggregateCode; reason: string };

export const DMARC_2_NAMESPACE = 'urn:ietf:params:xml:ns:dmarc-2.0';

const fail = (code: ParseAggregateCode, reason: string): ParseAggregateResult => ({ ok: false, code, reason });

/** Parses one aggregate report. Never throws for bad input; refusals carry a KGM- code. */
export function parseAggregateReport(
  xml: Buffer | string,
  limits: Partial<ParseAggregateLimits> = {},
): ParseAggregateResult {
  const l: ParseAggregateLimits = { ...DEFAULT_PARSE_LIMITS, ...limits };
  const size = typeof xml === 'string' ? Buffer.byteLength(xml) : xml.length;
  if (size > l.maxBytes) return fail('KGM-REPORT-TOO-LARGE', `${size} bytes exceeds ${l.maxBytes}`);
  const warnings: ParseWarning[] = [];
  let text = typeof xml === 'string' ? xml : decode(xml, warnings);
  text = text.replace(/^\uFEFF/, '');
  if (text.trim() === '') return fail('KGM-REPORT-XML', 'empty document');
  if (/<!(DOCTYPE|ENTITY)/i.test(text)) {
    return fail('KGM-REPORT-XML', 'DOCTYPE or ENTITY declaration refused (entities are never expanded)');
  }
  text = stripWrapper(text, warnings);
  const scan = scanTags(text, l.maxDepth);
  if (!scan.ok) return fail('KGM-REPORT-XML', scan.reason);
  if (scan.records > l.maxRecords) {
    return fail('KGM-REPORT-TOO-LARGE', `${scan.records} records exceeds ${l.maxRecords}`);
  }
  let doc: unknown;
  try {
    // No second validating pass: scanTags has checked the names and the nesting of every tag.
    doc = compact(PARSER.parse(text) as Ordered);
  } catch (err) {
    return fail('KGM-REPORT-XML', `not well-formed: ${(err as Error).message.split('\n')[0]}`);
  }
  const root = field(doc, 'feedback');
  if (!isObject(root)) return fail('KGM-REPORT-NOT-DMARC', 'no <feedback> root element');
  return mapReport(root, warnings);
}

/** One parser for every report: parse() keeps no state between calls. */
const PARSER = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Hand callbacks the matcher rather than a path string built for every tag; there are none.
  jPath: false,
  // The parser's tree as it is: compact() below makes the objects without its path tracking.
  preserveOrder: true,
});

/** The parser's ordered tree: one object per node, its name the key (':@' holds attributes). */
type Ordered = Array<Record<string, unknown>>;

/**
 * The ordered tree as plain objects, as the parser's own conversion makes them (repeated
 * elements become arrays, an element with only text becomes its text, attributes sit beside the
 * children as "@_name"), about 6 % faster than that conversion, which tracks each element's path
 * for callbacks this parser has none of (same objects: checked on bench/ingest's reports). The
 * parser refuses `__proto__`, `constructor` and the like as names; the objects have no prototype
 * besides.
 */
function compact(nodes: Ordered): Obj {
  const out: Obj = Object.create(null) as Obj;
  let text: string | undefined;
  for (const node of nodes) {
    let name: string | undefined;
    for (const k in node) {
      if (k !== ':@') {
        name = k;
        break;
      }
    }
    if (name === undefined) continue;
    if (name === '#text') {
      text = text === undefined ? String(node[name]) : text + String(node[name]);
      continue;
    }
    let value: unknown = compact(node[name] as Ordered);
    const attrs = node[':@'] as Obj | undefined;
    if (attrs) Object.assign(value as Obj, attrs);
    else {
      const keys = Object.keys(value as Obj);
      if (keys.length === 0) value = '';
      else if (keys.length === 1 && keys[0] === '#text') value = (value as Obj)['#text'];
    }
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  if (text !== undefined && text !== '') out['#text'] = text;
  return out;
}

/** Stateless between calls (no `stream`), so one serves every report. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function decode(bytes: Buffer, warnings: ParseWarning[]): string {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    warnings.push({ path: '', message: 'invalid UTF-8; bad bytes replaced with U+FFFD' });
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/**
 * Some reporters put an unclosed start tag (an `<xs:schema>` wrapper) before `<feedback>`;
 * keep only the feedback element, as parsedmarc does.
 */
function stripWrapper(text: string, warnings: ParseWarning[]): string {
  const open = /<([A-Za-z_][\w.-]*:)?feedback[\s>/]/.exec(text);
  if (!open) return text;
  const before = text.slice(0, open.index).replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->/g, '');
  if (!/<[A-Za-z_]/.test(before)) return text;
  const closeTag = `</${open[1] ?? ''}feedback>`;
  const close = text.lastIndexOf(closeTag);
  if (close < open.index) return text;
  warnings.push({ path: '', message: 'elements before <feedback> ignored (unclosed wrapper)' });
  return text.slice(open.index, close + closeTag.length);
}

/**
 * One pass over the tags before any tree is built: the depth bound, the record count, and the
 * well-formedness the parser itself does not check (XML 1.0 §3: every name a Name, end tags
 * matching their start tags, nothing left open). The parser then runs without its own
 * validating pass, which walked the whole text a second time.
 */
function scanTags(text: string, maxDepth: number): { ok: true; records: number } | { ok: false; reason: string } {
  const open: string[] = [];
  let records = 0;
  let i = text.indexOf('<');
  while (i !== -1) {
    const next = text.charCodeAt(i + 1);
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end === -1) return { ok: false, reason: 'not well-formed: unterminated comment' };
      i = text.indexOf('<', end + 3);
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end === -1) return { ok: false, reason: 'not well-formed: unterminated CDATA section' };
      i = text.indexOf('<', end + 3);
      continue;
    }
    const gt = text.indexOf('>', i + 1);
    if (gt === -1) return { ok: false, reason: `not well-formed: unterminated tag at offset ${i}` };
    if (next === 0x2f /* / */) {
      const name = text.slice(i + 2, gt).trimEnd();
      const expected = open.pop();
      if (name !== expected) {
        return { ok: false, reason: expected === undefined ? `not well-formed: </${name}> closes nothing` : `not well-formed: </${name}> closes <${expected}>` };
      }
    } else if (next !== 0x3f /* ? */ && next !== 0x21 /* ! */) {
      let end = i + 1;
      for (let c = text.charCodeAt(end); end < gt && c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x2f; c = text.charCodeAt(++end));
      const name = text.slice(i + 1, end);
      if (!isXmlName(name)) return { ok: false, reason: `not well-formed: "${name.slice(0, 40)}" is not a tag name` };
      if (text.charCodeAt(gt - 1) !== 0x2f /* not <empty/> */) {
        open.push(name);
        if (open.length > maxDepth) return { ok: false, reason: `elements nested deeper than ${maxDepth}` };
      }
      if (name === 'record' || name.endsWith(':record')) records++;
    }
    i = text.indexOf('<', gt + 1);
  }
  if (open.length > 0) return { ok: false, reason: `not well-formed: <${open[open.length - 1]}> is never closed` };
  return { ok: true, records };
}

/** XML 1.0 §2.3 Name (the common ranges; a report uses ASCII). */
const XML_NAME = /^[\p{L}_:][\p{L}\p{N}\p{M}_:.\-\u00B7\u203F\u2040]*$/u;
/** Names already checked: a report repeats a few dozen. Bounded, so hostile input cannot grow it. */
const KNOWN_NAMES = new Set<string>();

function isXmlName(name: string): boolean {
  if (KNOWN_NAMES.has(name)) return true;
  if (!XML_NAME.test(name)) return false;
  if (KNOWN_NAMES.size < 512) KNOWN_NAMES.add(name);
  return true;
}

// ---- mapping the parsed tree to the model ----

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(v: unknown, name: string): unknown {
  return isObject(v) ? v[name] : undefined;
}

function asArray(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** The five predefined XML entities and character references only (XML 1.0 §4.6, §4.1). */
function unescapeXml(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (m, e: string) => {
    switch (e) {
      case 'lt': return '<';
      case 'gt': return '>';
      case 'amp': return '&';
      case 'quot': return '"';
      case 'apos': return "'";
    }
    const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

/** Text content of an element (first if repeated), trimmed; undefined when absent. */
function text(v: unknown): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  if (one === undefined || one === null) return undefined;
  if (typeof one === 'string') return unescapeXml(one.trim());
  if (typeof one === 'number' || typeof one === 'boolean') return String(one);
  if (isObject(one)) {
    const t = one['#text'];
    return t === undefined ? '' : unescapeXml(String(t).trim());
  }
  return undefined;
}

function nonEmpty(v: unknown): string | undefined {
  const t = text(v);
  return t === undefined || t === '' ? undefined : t;
}

class Ctx {
  constructor(readonly warnings: ParseWarning[]) {}
  warn(path: string, message: string): void {
    this.warnings.push({ path, message });
  }
  /** Lower-cases an enumerated value, warning when the wire form was not canonical. */
  enumValue<T extends string>(
    raw: string | undefined,
    allowed: readonly T[],
    path: string,
    aliases: Record<string, T> = {},
  ): T | undefined {
    if (raw === undefined || raw === '') return undefined;
    const lower = raw.toLowerCase();
    const hit = (allowed as readonly string[]).includes(lower) ? (lower as T) : aliases[lower];
    if (hit === undefined) {
      this.warn(path, `unknown value "${raw}"`);
      return undefined;
    }
    if (hit !== raw) this.warn(path, `"${raw}" read as "${hit}"`);
    return hit;
  }
  integer(raw: string | undefined, path: string): number | undefined {
    if (raw === undefined || raw === '') return undefined;
    if (!/^\d+$/.test(raw)) {
      this.warn(path, `not a non-negative integer: "${raw}"`);
      return undefined;
    }
    return Number(raw);
  }
}

const POLICY: readonly PolicyValue[] = ['none', 'quarantine', 'reject'];
const DISPOSITION: readonly Disposition[] = ['none', 'quarantine', 'reject', 'pass'];
const DMARC_RESULT: readonly DmarcResultValue[] = ['pass', 'fail'];
const DKIM_RESULT: readonly DkimAuthValue[] = ['none', 'pass', 'fail', 'policy', 'neutral', 'temperror', 'permerror'];
const SPF_RESULT: readonly SpfAuthValue[] = ['none', 'neutral', 'pass', 'fail', 'softfail', 'temperror', 'permerror'];
const OVERRIDE: readonly OverrideType[] = [
  'forwarded', 'sampled_out', 'trusted_forwarder', 'mailing_list', 'local_policy', 'policy_test_mode', 'other',
];

function mapReport(root: Obj, warnings: ParseWarning[]): ParseAggregateResult {
  const c = new Ctx(warnings);
  const meta = root['report_metadata'];
  const pol = root['policy_published'];
  if (!isObject(meta)) return fail('KGM-REPORT-NOT-DMARC', 'no <report_metadata>');
  if (!isObject(pol)) return fail('KGM-REPORT-NOT-DMARC', 'no <policy_published>');
  const reportId = nonEmpty(meta['report_id']);
  if (reportId === undefined) return fail('KGM-REPORT-NOT-DMARC', 'no <report_id>');
  const domain = nonEmpty(pol['domain']);
  if (domain === undefined) return fail('KGM-REPORT-NOT-DMARC', 'no <policy_published><domain>');
  const range = meta['date_range'];
  const begin = c.integer(text(field(range, 'begin')), 'report_metadata/date_range/begin');
  const end = c.integer(text(field(range, 'end')), 'report_metadata/date_range/end');
  if (begin === undefined || end === undefined) return fail('KGM-REPORT-NOT-DMARC', 'no usable <date_range>');

  const orgName = text(meta['org_name']) ?? '';
  if (orgName === '') c.warn('report_metadata/org_name', 'empty org_name');
  const metadata: ReportMetadata = {
    orgName,
    email: text(meta['email']) ?? '',
    reportId,
    begin,
    end,
    errors: asArray(meta['error']).map((e) => text(e) ?? '').filter((e) => e !== ''),
  };
  const extra = nonEmpty(meta['extra_contact_info']);
  if (extra !== undefined) metadata.extraContactInfo = extra;
  const generator = nonEmpty(meta['generator']);
  if (generator !== undefined) metadata.generator = generator;

  const policy = mapPolicy(pol, domain, c);
  const version = nonEmpty(root['version']);
  const ns = root['@_xmlns'];
  const schema: AggregateSchema =
    ns === DMARC_2_NAMESPACE || version === '2.0' || policy.np !== undefined || policy.testing !== undefined ||
    policy.discoveryMethod !== undefined || generator !== undefined
      ? 'rfc9990'
      : 'rfc7489';

  const rawRecords = asArray(root['record']);
  if (rawRecords.length === 0) c.warn('record', 'report has no records');
  const records: AggregateRecord[] = [];
  rawRecords.forEach((r, i) => {
    records.push(mapRecord(r, `record[${i}]`, c));
  });
  const report: AggregateReport = { schema, metadata, policy, records };
  if (version !== undefined) report.version = version;
  return { ok: true, report, warnings };
}

function mapPolicy(pol: Obj, domain: string, c: Ctx): PolicyPublished {
  const out: PolicyPublished = { domain };
  const at = (k: string): string => `policy_published/${k}`;
  const adkim = c.enumValue(nonEmpty(pol['adkim']), ['r', 's'] as const, at('adkim'));
  if (adkim) out.adkim = adkim;
  const aspf = c.enumValue(nonEmpty(pol['aspf']), ['r', 's'] as const, at('aspf'));
  if (aspf) out.aspf = aspf;
  for (const k of ['p', 'sp', 'np'] as const) {
    const v = c.enumValue(nonEmpty(pol[k]), POLICY, at(k));
    if (v) out[k] = v;
  }
  const psd = c.enumValue(nonEmpty(pol['psd']), ['y', 'n', 'u'] as const, at('psd'));
  if (psd) out.psd = psd;
  const testing = c.enumValue(nonEmpty(pol['testing']), ['y', 'n'] as const, at('testing'));
  if (testing) out.testing = testing;
  const dm = nonEmpty(pol['discovery_method']);
  if (dm !== undefined) out.discoveryMethod = dm;
  const pct = c.integer(nonEmpty(pol['pct']), at('pct'));
  if (pct !== undefined) out.pct = pct;
  const fo = nonEmpty(pol['fo']);
  if (fo !== undefined) out.fo = fo;
  return out;
}

function mapRecord(r: unknown, path: string, c: Ctx): AggregateRecord {
  const row = field(r, 'row');
  const pe = field(row, 'policy_evaluated');
  const ids = field(r, 'identifiers');
  const auth = field(r, 'auth_results');

  const sourceIp = text(field(row, 'source_ip')) ?? '';
  if (isIP(sourceIp) === 0) c.warn(`${path}/row/source_ip`, `not an IP address: "${sourceIp}"`);
  const rawCount = text(field(row, 'count'));
  const count = c.integer(rawCount, `${path}/row/count`);
  if (count === undefined && rawCount === undefined) c.warn(`${path}/row/count`, 'missing count');
  const headerFrom = text(field(ids, 'header_from')) ?? '';
  if (headerFrom === '') c.warn(`${path}/identifiers/header_from`, 'missing header_from');

  const rec: AggregateRecord = {
    sourceIp,
    count: count ?? 0,
    reasons: [],
    headerFrom,
    dkimResults: [],
    spfResults: [],
  };
  const disposition = c.enumValue(nonEmpty(field(pe, 'disposition')), DISPOSITION, `${path}/row/policy_evaluated/disposition`);
  if (disposition) rec.disposition = disposition;
  const dkim = c.enumValue(nonEmpty(field(pe, 'dkim')), DMARC_RESULT, `${path}/row/policy_evaluated/dkim`);
  if (dkim) rec.dkim = dkim;
  const spf = c.enumValue(nonEmpty(field(pe, 'spf')), DMARC_RESULT, `${path}/row/policy_evaluated/spf`);
  if (spf) rec.spf = spf;
  asArray(field(pe, 'reason')).forEach((reason, i) => {
    const p = `${path}/row/policy_evaluated/reason[${i}]`;
    const type = c.enumValue(nonEmpty(field(reason, 'type')), OVERRIDE, `${p}/type`);
    if (!type) {
      c.warn(p, 'reason without a known type ignored');
      return;
    }
    const out: PolicyOverrideReason = { type };
    const comment = nonEmpty(field(reason, 'comment'));
    if (comment !== undefined) out.comment = comment;
    rec.reasons.push(out);
  });
  const envelopeFrom = nonEmpty(field(ids, 'envelope_from'));
  if (envelopeFrom !== undefined) rec.envelopeFrom = envelopeFrom;
  const envelopeTo = nonEmpty(field(ids, 'envelope_to'));
  if (envelopeTo !== undefined) rec.envelopeTo = envelopeTo;

  asArray(field(auth, 'dkim')).forEach((d, i) => {
    const p = `${path}/auth_results/dkim[${i}]`;
    const out: DkimAuthResult = {
      domain: text(field(d, 'domain')) ?? '',
      result: c.enumValue(nonEmpty(field(d, 'result')), DKIM_RESULT, `${p}/result`) ?? 'unknown',
    };
    const selector = nonEmpty(field(d, 'selector'));
    if (selector !== undefined) out.selector = selector;
    const human = nonEmpty(field(d, 'human_result'));
    if (human !== undefined) out.humanResult = human;
    rec.dkimResults.push(out);
  });
  asArray(field(auth, 'spf')).forEach((s, i) => {
    const p = `${path}/auth_results/spf[${i}]`;
    // "hardfail" is not an RFC 7208 result, but some reporters write it for "fail".
    const out: SpfAuthResult = {
      domain: text(field(s, 'domain')) ?? '',
      result: c.enumValue(nonEmpty(field(s, 'result')), SPF_RESULT, `${p}/result`, { hardfail: 'fail' }) ?? 'unknown',
    };
    const scope = c.enumValue(nonEmpty(field(s, 'scope')), ['helo', 'mfrom'] as const, `${p}/scope`);
    if (scope) out.scope = scope;
    const human = nonEmpty(field(s, 'human_result'));
    if (human !== undefined) out.humanResult = human;
    rec.spfResults.push(out);
  });
  return rec;
}
