/**
 * SMTP TLS Reporting (RFC 8460 4.4): the JSON report a sender posts or mails about its sessions
 * with our MX hosts. Pure: `parseTlsReport(json) → TlsReportParse`. Real reports deviate (null
 * contact-info, a policy-string that is one string, missing mx-host, unknown result types): those
 * are accepted with a warning; what is not a TLS report at all is refused with a reason.
 */

/** RFC 8460 4.3 result types, plus any other string a reporter writes (kept as written). */
export type TlsResultType =
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid'
  | (string & {});

export interface TlsFailureDetail {
  /** "result-type" */
  resultType: TlsResultType;
  /** "sending-mta-ip" */
  sendingMtaIp: string | null;
  /** "receiving-mx-hostname" */
  receivingMxHostname: string | null;
  /** "receiving-mx-helo" */
  receivingMxHelo: string | null;
  /** "receiving-ip" */
  receivingIp: string | null;
  /** "failed-session-count" */
  failedSessionCount: number;
  /** "additional-information" */
  additionalInformation: string | null;
  /** "failure-reason-code" */
  failureReasonCode: string | null;
}

export interface TlsPolicyResult {
  /** "policy-type": sts, tlsa, no-policy-found. */
  policyType: string;
  /** "policy-string": the policy as lines. */
  policyString: string[];
  /** "policy-domain" */
  policyDomain: string;
  /** "mx-host" */
  mxHost: string[];
  /** "total-successful-session-count" */
  successfulSessions: number;
  /** "total-failure-session-count" */
  failedSessions: number;
  failureDetails: TlsFailureDetail[];
}

export interface TlsReport {
  /** "organization-name" */
  organizationName: string;
  /** "date-range": seconds since the epoch. */
  begin: number;
  end: number;
  /** "contact-info" */
  contactInfo: string | null;
  /** "report-id" */
  reportId: string;
  policies: TlsPolicyResult[];
}

export type TlsReportParse =
  | { ok: true; report: TlsReport; warnings: string[] }
  | { ok: false; code: 'KGM-REPORT-TLSRPT'; reason: string };

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

function count(v: unknown, field: string, warnings: string[]): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d+$/.test(v)) {
    warnings.push(`${field} is a string, read as a number`);
    return Number(v);
  }
  if (v !== undefined) warnings.push(`${field} is not a count: ${JSON.stringify(v)}; read as 0`);
  return 0;
}

function seconds(v: unknown): number | null {
  if (typeof v !== 'string') return null;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

function lines(v: unknown, field: string, warnings: string[]): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  if (typeof v === 'string') {
    warnings.push(`${field} is one string, not a list; split into lines`);
    return v.split(/\r?\n/).filter((l) => l.trim() !== '');
  }
  return [];
}

function parseDetail(v: unknown, warnings: string[]): TlsFailureDetail | null {
  if (!isObject(v)) return null;
  const resultType = str(v['result-type']);
  if (!resultType) {
    warnings.push('a failure-details entry has no result-type; skipped');
    return null;
  }
  return {
    resultType,
    sendingMtaIp: str(v['sending-mta-ip']),
    receivingMxHostname: str(v['receiving-mx-hostname'])?.toLowerCase().replace(/\.$/, '') ?? null,
    receivingMxHelo: str(v['receiving-mx-helo']),
    receivingIp: str(v['receiving-ip']),
    failedSessionCount: count(v['failed-session-count'], 'failed-session-count', warnings),
    additionalInformation: str(v['additional-information']),
    failureReasonCode: str(v['failure-reason-code']),
  };
}

function parsePolicy(v: unknown, reportId: string, warnings: string[]): TlsPolicyResult | string {
  if (!isObject(v)) return 'a policies entry is not an object';
  const policy = isObject(v.policy) ? v.policy : null;
  const summary = isObject(v.summary) ? v.summary : null;
  if (!policy || !summary) return 'a policies entry lacks "policy" or "summary" (RFC 8460 4.4)';
  let policyDomain = str(policy['policy-domain']);
  if (!policyDomain) {
    // Google writes no policy-domain for no-policy-found, but names the domain in its report-id
    // ("2019-04-14T00:00:00Z_example.org").
    const fromId = /_([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/i.exec(reportId)?.[1] ?? '';
    warnings.push(`a policy has no policy-domain${fromId ? `; taken from the report-id: ${fromId}` : ''}`);
    policyDomain = fromId;
  }
  const policyType = str(policy['policy-type']) ?? 'unknown';
  if (!['sts', 'tlsa', 'no-policy-found'].includes(policyType)) warnings.push(`policy-type "${policyType}" is not one of RFC 8460's`);
  const mx = policy['mx-host'];
  const mxHost = Array.isArray(mx) ? mx.filter((x): x is string => typeof x === 'string') : typeof mx === 'string' ? [mx] : [];
  const details = Array.isArray(v['failure-details']) ? v['failure-details'] : [];
  return {
    policyType,
    policyString: lines(policy['policy-string'], 'policy-string', warnings),
    policyDomain: policyDomain.toLowerCase().replace(/\.$/, ''),
    mxHost,
    successfulSessions: count(summary['total-successful-session-count'], 'total-successful-session-count', warnings),
    failedSessions: count(summary['total-failure-session-count'], 'total-failure-session-count', warnings),
    failureDetails: details.map((d) => parseDetail(d, warnings)).filter((d): d is TlsFailureDetail => d !== null),
  };
}

/** Parses one TLS report (JSON text or bytes). */
export function parseTlsReport(input: string | Buffer, maxBytes = 10 * 1024 * 1024): TlsReportParse {
  const refuse = (reason: string): TlsReportParse => ({ ok: false, code: 'KGM-REPORT-TLSRPT', reason });
  if (input.length > maxBytes) return refuse(`the report is larger than ${maxBytes} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(typeof input === 'string' ? input : input.toString('utf8'));
  } catch (err) {
    return refuse(`not JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) return refuse('the report is not a JSON object');
  const warnings: string[] = [];
  const organizationName = str(json['organization-name']);
  const reportId = str(json['report-id']);
  const range = isObject(json['date-range']) ? json['date-range'] : null;
  const begin = seconds(range?.['start-datetime']);
  const end = seconds(range?.['end-datetime']);
  if (!organizationName || !reportId || begin === null || end === null || !Array.isArray(json.policies)) {
    return refuse('missing organization-name, report-id, date-range or policies (RFC 8460 4.4)');
  }
  const contact = json['contact-info'];
  if (contact === null) warnings.push('contact-info is null');
  const policies: TlsPolicyResult[] = [];
  for (const p of json.policies) {
    const parsed = parsePolicy(p, reportId, warnings);
    if (typeof parsed === 'string') return refuse(parsed);
    policies.push(parsed);
  }
  return { ok: true, report: { organizationName, begin, end, contactInfo: str(contact), reportId, policies }, warnings };
}
