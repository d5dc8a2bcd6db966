/**
 * DMARC failure reports (RFC 9991, in the Authentication Failure Reporting Format of RFC 6591,
 * an extension of ARF, RFC 5965): one report describes one message that failed authentication.
 * Pure: the caller splits the MIME message (mailparser) and hands over its parts' text.
 *
 * Real reports deviate: Netease sends multipart/mixed with the feedback part as a base64
 * attachment, LinkedIn leaves Original-Mail-From empty, OpenDMARC appends "(hostname)" to
 * Source-IP, the IETF draft's example ends From and Message-Id with ';', and Exim's
 * experimental DMARC module sends plain text with no feedback part at all. All are read; what
 * was tolerated is returned as warnings.
 */
import { isIP } from 'node:net';

export interface FeedbackField {
  name: string;
  value: string;
}

/** The headers of the message that failed, from its message/rfc822 or text/rfc822-headers part. */
export interface OriginalMessage {
  from: string | null;
  to: string | null;
  subject: string | null;
  messageId: string | null;
  date: string | null;
  /** The header section as reported (reporters redact as they see fit), cut at a bound. */
  headers: string;
}

export interface FailureReport {
  /** "arf": a message/feedback-report part (RFC 6591); "exim-text": Exim's plain-text notice. */
  format: 'arf' | 'exim-text';
  /** The reporting domain: the domain of the report mail's From address, lower case. */
  reporter: string;
  /** The report mail's From address. */
  reporterAddress: string;
  /** The report mail's Message-ID (no angle brackets), or a digest of its feedback part when it has none. */
  reportId: string;
  /** The report mail's Date, seconds since the epoch, or null. */
  reportedAt: number | null;
  /** Feedback-Type: "auth-failure" for every stored report. */
  feedbackType: string;
  version: string | null;
  userAgent: string | null;
  /** Auth-Failure (RFC 6591 3.2.2): dmarc, dkim, spf, bodyhash, signature, revoked, adsp. */
  authFailure: string | null;
  /** Reported-Domain: the domain the report is about (ours, when it reaches us). Lower case. */
  reportedDomain: string;
  sourceIp: string | null;
  /** A host name some reporters append to Source-IP in parentheses. */
  sourceHost: string | null;
  originalMailFrom: string | null;
  originalRcptTo: string[];
  originalEnvelopeId: string | null;
  /** Arrival-Date (or the common Received-Date), seconds since the epoch, or null. */
  arrivalDate: number | null;
  authenticationResults: string | null;
  /** Identity-Alignment (RFC 9991 3.1): which identifiers aligned: dkim, spf, none. */
  identityAlignment: string | null;
  dkimDomain: string | null;
  dkimIdentity: string | null;
  dkimSelector: string | null;
  spfDns: string | null;
  /** Delivery-Result (RFC 6591 3.2.1 via RFC 6650): delivered, spam, policy, reject, other. */
  deliveryResult: string | null;
  original: OriginalMessage | null;
  /** Every field of the feedback part, in order, as reported. */
  fields: FeedbackField[];
}

export interface FailureWarning {
  message: string;
}

/** What the caller took out of the report mail. */
export interface FailureReportInput {
  /** The message/feedback-report part's text, or null when the mail has none. */
  feedback: string | null;
  /** The message/rfc822 or text/rfc822-headers part's text (only its header section is read), or null. */
  original: string | null;
  /** The report mail's plain-text body (for Exim's notice). */
  text: string;
  /** The report mail's From address, Date (ms, or null) and Message-ID. */
  from: string;
  date: number | null;
  messageId: string | null;
  /** A digest of the report's content, used as its id when the mail has no Message-ID. */
  digest: string;
}

export type FailureParseResult =
  | { ok: true; report: FailureReport; warnings: FailureWarning[] }
  | { ok: false; code: 'KGM-REPORT-FAILURE' | 'KGM-REPORT-NOT-DMARC'; reason: string };

/** Most bytes of the original message's header section kept. */
export const MAX_ORIGINAL_HEADERS = 64 * 1024;
/** Most fields read from a feedback part; more is not a report but an attack. */
const MAX_FIELDS = 200;

/** Splits a header-style block ("Name: value" lines, folded continuation lines) into fields. */
export function parseFeedbackFields(text: string): FeedbackField[] {
  const fields: FeedbackField[] = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    if (line.trim() === '') {
      if (fields.length > 0) break; // the end of the header-style block
      continue;
    }
    if (/^[ \t]/.test(line) && fields.length > 0) {
      fields[fields.length - 1]!.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    fields.push({ name, value: line.slice(colon + 1).trim() });
    if (fields.length >= MAX_FIELDS) break;
  }
  return fields;
}

function field(fields: readonly FeedbackField[], ...names: string[]): string | null {
  for (const n of names) {
    const f = fields.find((x) => x.name.toLowerCase() === n.toLowerCase());
    if (f && f.value !== '') return f.value;
  }
  return null;
}

function allOf(fields: readonly FeedbackField[], name: string): string[] {
  return fields.filter((x) => x.name.toLowerCase() === name.toLowerCase() && x.value !== '').map((x) => x.value);
}

/** The bare address of an address header or field: "<a@b>", "Name <a@b>;", "a@b". */
export function bareAddress(value: string | null): string | null {
  if (value === null) return null;
  const v = value.trim().replace(/;+$/, '').trim();
  const angle = /<([^<>]*)>/.exec(v);
  const addr = (angle ? angle[1]! : v).trim();
  return addr === '' ? null : addr;
}

function domainOf(address: string | null): string | null {
  if (!address) return null;
  const at = address.lastIndexOf('@');
  if (at < 0) return null;
  const d = address.slice(at + 1).trim().toLowerCase().replace(/[>;.\s]+$/, '');
  return d === '' ? null : d;
}

function seconds(date: string | null): number | null {
  if (!date) return null;
  // "(PDT)" style comments and a trailing ';' confuse Date.parse.
  const ms = Date.parse(date.replace(/\([^)]*\)/g, '').replace(/;+\s*$/, '').trim());
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

function normaliseDomain(d: string | null): string | null {
  if (!d) return null;
  const v = d.trim().replace(/[;.]+$/, '').toLowerCase();
  return /^[a-z0-9_.-]+$/.test(v) && v.includes('.') ? v : null;
}

/** "148.163.85.135 (sainay.example)" → ip and host; anything not an address → null. */
function sourceIpOf(value: string | null, warnings: FailureWarning[]): { ip: string | null; host: string | null } {
  if (!value) return { ip: null, host: null };
  const m = /^\[?([0-9A-Fa-f:.]+)\]?\s*(?:\(([^)]*)\))?/.exec(value.trim());
  const ip = m?.[1] ?? '';
  if (!isIP(ip)) {
    warnings.push({ message: `Source-IP "${value}" is not an IP address; ignored` });
    return { ip: null, host: null };
  }
  const host = m?.[2]?.trim() || null;
  if (host) warnings.push({ message: 'Source-IP carries a host name in parentheses; split off' });
  return { ip, host };
}

/** The header section of an embedded message (up to the first empty line), bounded. */
function headerSection(text: string): string {
  const t = text.replace(/\r\n?/g, '\n');
  const end = t.search(/\n[ \t]*\n/);
  const head = end >= 0 ? t.slice(0, end + 1) : t;
  return head.length > MAX_ORIGINAL_HEADERS ? head.slice(0, MAX_ORIGINAL_HEADERS) : head;
}

function originalMessage(text: string | null): OriginalMessage | null {
  if (text === null || text.trim() === '') return null;
  const headers = headerSection(text);
  const fields = parseFeedbackFields(headers);
  return {
    from: field(fields, 'From'),
    to: field(fields, 'To'),
    subject: field(fields, 'Subject'),
    messageId: field(fields, 'Message-ID'),
    date: field(fields, 'Date'),
    headers,
  };
}

/** The domain a DMARC Authentication-Results says the report is about: header.from=D. */
function headerFromOf(authres: string | null): string | null {
  if (!authres) return null;
  const m = /header\.from=([^\s;]+)/i.exec(authres);
  return m ? normaliseDomain(m[1]!) : null;
}

function reportIdOf(input: FailureReportInput): string {
  // Message-IDs arrive with or without angle brackets, and the IETF example ends one with ';'.
  const id = input.messageId?.replace(/^[\s<]+|[\s>;]+$/g, '');
  return id ? id : `sha256:${input.digest}`;
}

/**
 * Reads a failure report from the parts of its mail. Refused: an ARF report of another
 * Feedback-Type (an abuse complaint is not a DMARC report: KGM-REPORT-NOT-DMARC), a report whose
 * feedback part is missing or names no domain (KGM-REPORT-FAILURE).
 */
export function parseFailureReport(input: FailureReportInput): FailureParseResult {
  const warnings: FailureWarning[] = [];
  const reporterAddress = bareAddress(input.from) ?? '';
  const reporter = domainOf(reporterAddress) ?? '';
  if (input.feedback === null) return parseEximNotice(input, reporter, reporterAddress);

  const fields = parseFeedbackFields(input.feedback);
  if (fields.length === 0) return { ok: false, code: 'KGM-REPORT-FAILURE', reason: 'the message/feedback-report part is empty' };
  const feedbackType = (field(fields, 'Feedback-Type') ?? '').toLowerCase();
  if (feedbackType === '') return { ok: false, code: 'KGM-REPORT-FAILURE', reason: 'the feedback part has no Feedback-Type' };
  if (feedbackType !== 'auth-failure') {
    return { ok: false, code: 'KGM-REPORT-NOT-DMARC', reason: `an ARF report of Feedback-Type "${feedbackType}", not an authentication failure report` };
  }
  const authenticationResults = field(fields, 'Authentication-Results');
  const original = originalMessage(input.original);
  let reportedDomain = normaliseDomain(field(fields, 'Reported-Domain'));
  if (!reportedDomain) {
    // RFC 6591 3.1 requires Reported-Domain; some reporters leave it out but say it elsewhere.
    reportedDomain = headerFromOf(authenticationResults) ?? normaliseDomain(domainOf(bareAddress(original?.from ?? null)));
    if (!reportedDomain) return { ok: false, code: 'KGM-REPORT-FAILURE', reason: 'no Reported-Domain, and no header.from or From to take it from' };
    warnings.push({ message: `no Reported-Domain; took ${reportedDomain} from the report's other fields` });
  }
  const { ip, host } = sourceIpOf(field(fields, 'Source-IP'), warnings);
  const arrival = field(fields, 'Arrival-Date');
  const received = arrival ?? field(fields, 'Received-Date');
  if (!arrival && received) warnings.push({ message: 'Received-Date used for the missing Arrival-Date' });
  const mailFrom = field(fields, 'Original-Mail-From');
  if (mailFrom === null) warnings.push({ message: 'Original-Mail-From is missing or empty' });
  if (input.original === null) warnings.push({ message: "the failed message's headers were not found (no message/rfc822 or text/rfc822-headers attachment)" });
  if (/;\s*$/.test(input.from) || /;\s*$/.test(input.messageId ?? '')) warnings.push({ message: "a stray ';' after the report's From or Message-Id" });

  const report: FailureReport = {
    format: 'arf',
    reporter,
    reporterAddress,
    reportId: reportIdOf(input),
    reportedAt: input.date === null ? null : Math.floor(input.date / 1000),
    feedbackType,
    version: field(fields, 'Version'),
    userAgent: field(fields, 'User-Agent'),
    authFailure: field(fields, 'Auth-Failure')?.toLowerCase() ?? null,
    reportedDomain,
    sourceIp: ip,
    sourceHost: host,
    originalMailFrom: mailFrom === null ? null : (bareAddress(mailFrom) ?? ''),
    originalRcptTo: allOf(fields, 'Original-Rcpt-To').map((v) => bareAddress(v) ?? v),
    originalEnvelopeId: field(fields, 'Original-Envelope-Id'),
    arrivalDate: seconds(received),
    authenticationResults,
    identityAlignment: field(fields, 'Identity-Alignment')?.toLowerCase() ?? null,
    dkimDomain: normaliseDomain(field(fields, 'DKIM-Domain')),
    dkimIdentity: field(fields, 'DKIM-Identity'),
    dkimSelector: field(fields, 'DKIM-Selector'),
    spfDns: field(fields, 'SPF-DNS'),
    deliveryResult: field(fields, 'Delivery-Result')?.toLowerCase() ?? null,
    original,
    fields,
  };
  return { ok: true, report, warnings };
}

/**
 * Exim's experimental DMARC module (dmarc_forensic_sender) mails a plain-text notice:
 * "Sender Domain: D", "Sender IP Address: IP", "Received date: …", then "------ This is a copy
 * of the headers …" and the failed message's headers.
 */
function parseEximNotice(input: FailureReportInput, reporter: string, reporterAddress: string): FailureParseResult {
  const text = input.text.replace(/\r\n?/g, '\n');
  const line = (label: string) => new RegExp(`^[ \\t]*${label}:[ \\t]*(.*)$`, 'im').exec(text)?.[1]?.trim() || null;
  const domain = normaliseDomain(line('Sender Domain'));
  if (!domain) return { ok: false, code: 'KGM-REPORT-FAILURE', reason: 'no message/feedback-report part, and not a recognisable failure notice' };
  const warnings: FailureWarning[] = [{ message: 'no message/feedback-report part: read as Exim\'s plain-text DMARC failure notice' }];
  const { ip } = sourceIpOf(line('Sender IP Address'), warnings);
  const marker = /^-{3,} This is a copy of the headers[^\n]*\n+/m.exec(text);
  const original = marker ? originalMessage(text.slice(marker.index + marker[0].length)) : null;
  const spf = line('SPF Alignment');
  const dkim = line('DKIM Alignment');
  const aligned = [dkim === 'yes' ? 'dkim' : null, spf === 'yes' ? 'spf' : null].filter((x): x is string => x !== null);
  const fields: FeedbackField[] = ['Sender Domain', 'Sender IP Address', 'Received date', 'SPF Alignment', 'DKIM Alignment', 'DMARC Results']
    .map((name) => ({ name, value: line(name) ?? '' }))
    .filter((f) => f.value !== '');
  const report: FailureReport = {
    format: 'exim-text',
    reporter,
    reporterAddress,
    reportId: reportIdOf(input),
    reportedAt: input.date === null ? null : Math.floor(input.date / 1000),
    feedbackType: 'auth-failure',
    version: null,
    userAgent: 'Exim',
    authFailure: 'dmarc',
    reportedDomain: domain,
    sourceIp: ip,
    sourceHost: null,
    originalMailFrom: null,
    originalRcptTo: [],
    originalEnvelopeId: null,
    arrivalDate: seconds(line('Received date')),
    authenticationResults: null,
    identityAlignment: spf === null && dkim === null ? null : aligned.length > 0 ? aligned.join(',') : 'none',
    dkimDomain: null,
    dkimIdentity: null,
    dkimSelector: null,
    spfDns: null,
    deliveryResult: null,
    original,
    fields,
  };
  return { ok: true, report, warnings };
}
