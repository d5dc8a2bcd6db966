/**
 * DMARC Policy Record parsing (RFC 9989 §4.7, §4.8). Pure.
 *
 * Case: the ABNF's quoted strings are case-insensitive (RFC 5234 2.3), so tag names and keyword
 * values ("P=Reject") are taken in any case; only the version value is case-sensitive
 * (`%s"DMARC1"`). URIs keep their case.
 * Errors: §4.8 "syntax errors in the remainder of the record MUST be discarded in favor of default
 * values (if any) or ignored outright", so apart from the version every problem is a warning; an
 * invalid p / sp / np gets the special handling of §4.10.1 (see PolicyFault).
 */
import type {
  AlignmentMode,
  DmarcParseIssue,
  DmarcParseResult,
  DmarcPolicy,
  DmarcRecord,
  FailureOption,
  PolicyTag,
  PsdFlag,
} from './types.js';

/** Tags of RFC 9989 §4.7 (plus v). */
const KNOWN_TAGS = new Set(['v', 'p', 'sp', 'np', 'psd', 't', 'adkim', 'aspf', 'rua', 'ruf', 'fo']);
/** RFC 7489 tags marked historic by §9.3. */
const OBSOLETE_TAGS = new Set(['pct', 'rf', 'ri']);
const POLICIES: readonly string[] = ['none', 'quarantine', 'reject'];
/** WSP = SP / HTAB (RFC 5234 B.1). */
const WSP = /^[ \t]+|[ \t]+$/g;
/** §4.8 dmarc-value: printing characters (and SP) but ";". */
const DMARC_VALUE = /^[\x20-\x3a\x3c-\x7e]+$/;
/** RFC 3986 3.1 scheme, then something without WSP, "," or "!" (§4.8: they MUST be encoded). */
const URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s,!]+$/;
/** §4.8 obs-dmarc-report-size. */
const OBS_SIZE = /!\d+[kmgt]?$/i;

/** Parses one TXT string. `{ ok: false }` means "not a DMARC record" (§4.7 "v"). */
export function parseDmarcRecord(txt: string): DmarcParseResult {
  const segments = txt.split(';').map((s) => s.replace(WSP, ''));
  const version = /^v[ \t]*=[ \t]*(.*)$/i.exec(segments[0] ?? '');
  if (!version || version[1] !== 'DMARC1') {
    return {
      ok: false,
      issues: [{ code: 'not-dmarc', tag: 'v', message: 'the record does not start with v=DMARC1 (RFC 9989 §4.7)' }],
    };
  }
  const warnings: DmarcParseIssue[] = [];
  const tags: Array<{ name: string; value: string }> = [];
  const seen = new Map<string, string[]>();
  for (const segment of segments.slice(1)) {
    if (segment === '') continue; // a trailing ";" (allowed) or ";;" (tolerated)
    const m = /^([A-Za-z]+)[ \t]*=[ \t]*(.*)$/s.exec(segment);
    if (!m) {
      warnings.push({ code: 'syntax', message: `"${segment}" is not tag=value: ignored (RFC 9989 §4.8)` });
      continue;
    }
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    tags.push({ name, value });
    seen.set(name, [...(seen.get(name) ?? []), value]);
  }

  const value = (tag: string): string | undefined => {
    const values = seen.get(tag);
    if (values === undefined) return undefined;
    if (values.length > 1) {
      warnings.push({ code: 'duplicate-tag', tag, message: `${tag} appears ${values.length} times: ignored (RFC 6376 3.2)` });
      return undefined;
    }
    const v = values[0]!;
    if (!DMARC_VALUE.test(v)) {
      warnings.push({ code: 'invalid-value', tag, message: `${tag}="${v}" is not a valid value: ignored (RFC 9989 §4.8)` });
      return undefined;
    }
    return v;
  };
  const keyword = <T extends string>(tag: string, allowed: readonly T[], fallback: T): T => {
    const v = value(tag);
    if (v === undefined) return fallback;
    const lower = v.toLowerCase();
    if ((allowed as readonly string[]).includes(lower)) return lower as T;
    warnings.push({
      code: 'invalid-value',
      tag,
      message: `${tag}=${v} is not one of ${allowed.join(', ')}: default ${fallback} used (RFC 9989 §4.8)`,
    });
    return fallback;
  };

  for (const name of seen.keys()) {
    if (name === 'v') {
      warnings.push({ code: 'duplicate-tag', tag: 'v', message: 'v appears again after the first tag: ignored' });
    } else if (OBSOLETE_TAGS.has(name)) {
      warnings.push({
        code: 'obsolete-tag',
        tag: name,
        message: `${name} is historic in RFC 9989 (§9.3, Appendix C.5.2): ignored`,
      });
    } else if (!KNOWN_TAGS.has(name)) {
      warnings.push({ code: 'unknown-tag', tag: name, message: `unknown tag ${name}: ignored (RFC 9989 §4.7)` });
    }
  }

  const aggregateReportUris = uriList('rua', value('rua'), warnings);
  const failureReportUris = uriList('ruf', value('ruf'), warnings);
  const policies = policyTags(seen, warnings);
  const faulty = (['p', 'sp', 'np'] as const).filter((t) => policies[t] === 'invalid');
  const handling = faulty.length === 0 ? null : aggregateReportUris.length > 0 ? 'as-p-none' : 'no-dmarc';
  if (handling !== null) {
    const what = handling === 'as-p-none' ? 'treated as p=none because rua is valid' : 'no valid rua, so no DMARC processing';
    warnings.push({
      code: 'invalid-policy',
      tag: faulty[0],
      message: `invalid ${faulty.join(', ')}: ${what} (RFC 9989 §4.10.1)`,
    });
  } else if (policies.p === undefined) {
    warnings.push({ code: 'missing-p', tag: 'p', message: 'no p tag: treated as p=none (RFC 9989 §4.7)' });
  }
  const policy = (tag: PolicyTag): DmarcPolicy | null => {
    const v = policies[tag];
    return handling !== null || v === undefined || v === 'invalid' ? null : v;
  };

  const obsolete: DmarcRecord['obsolete'] = {};
  for (const tag of ['pct', 'rf', 'ri'] as const) {
    const values = seen.get(tag);
    if (values !== undefined) obsolete[tag] = values[0]!;
  }
  const record: DmarcRecord = {
    version: 'DMARC1',
    policy: policy('p') ?? 'none',
    subdomainPolicy: policy('sp'),
    nonExistentPolicy: policy('np'),
    psd: keyword<PsdFlag>('psd', ['y', 'n', 'u'], 'u'),
    testing: keyword('t', ['y', 'n'], 'n') === 'y',
    dkimAlignment: mode(keyword('adkim', ['r', 's'], 'r')),
    spfAlignment: mode(keyword('aspf', ['r', 's'], 'r')),
    aggregateReportUris,
    failureReportUris,
    failureOptions: failureOptions(value('fo'), warnings),
    policyFault: handling === null ? null : { tags: faulty, handling },
    obsolete,
    tags,
  };
  return { ok: true, record, warnings };
}

/** Reads p, sp and np: a value, `invalid` (bad or repeated), or undefined when absent. */
function policyTags(
  seen: Map<string, string[]>,
  warnings: DmarcParseIssue[],
): Record<PolicyTag, DmarcPolicy | 'invalid' | undefined> {
  const read = (tag: PolicyTag): DmarcPolicy | 'invalid' | undefined => {
    const values = seen.get(tag);
    if (values === undefined) return undefined;
    if (values.length > 1) {
      warnings.push({ code: 'duplicate-tag', tag, message: `${tag} appears ${values.length} times (RFC 6376 3.2)` });
      return 'invalid';
    }
    const lower = values[0]!.toLowerCase();
    return POLICIES.includes(lower) ? (lower as DmarcPolicy) : 'invalid';
  };
  return { p: read('p'), sp: read('sp'), np: read('np') };
}

function mode(flag: 'r' | 's'): AlignmentMode {
  return flag === 's' ? 'strict' : 'relaxed';
}

/** §4.8 dmarc-urilist: URIs separated by "," with optional WSP; obsolete "!size" suffixes dropped. */
function uriList(tag: 'rua' | 'ruf', raw: string | undefined, warnings: DmarcParseIssue[]): string[] {
  if (raw === undefined) return [];
  const uris: string[] = [];
  for (const item of raw.split(',')) {
    let uri = item.replace(WSP, '');
    if (OBS_SIZE.test(uri)) {
      warnings.push({
        code: 'obsolete-uri-size',
        tag,
        message: `${tag} URI ${uri}: the "!size" suffix is obsolete and ignored (RFC 9989 §4.8)`,
      });
      uri = uri.replace(OBS_SIZE, '');
    }
    if (URI.test(uri)) uris.push(uri);
    else warnings.push({ code: 'invalid-uri', tag, message: `${tag} "${uri}" is not a URI: ignored (RFC 3986 3)` });
  }
  return uris;
}

/** §4.8 dmarc-fo: "0" / "1" (not both) and "d" / "s" (each once), separated by ":". */
function failureOptions(raw: string | undefined, warnings: DmarcParseIssue[]): FailureOption[] {
  if (raw === undefined) return ['0'];
  const items = raw.split(':').map((s) => s.replace(WSP, '').toLowerCase());
  const valid =
    items.every((i) => i === '0' || i === '1' || i === 'd' || i === 's') &&
    new Set(items).size === items.length &&
    !(items.includes('0') && items.includes('1'));
  if (valid) return items as FailureOption[];
  warnings.push({ code: 'invalid-value', tag: 'fo', message: `fo=${raw} is not valid: default 0 used (RFC 9989 §4.8)` });
  return ['0'];
}
