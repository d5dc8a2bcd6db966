/**
 * The DMARC aggregate report model: RFC 7489 Appendix C and RFC 9990 (urn:ietf:params:xml:ns:dmarc-2.0).
 * Field names follow the XML; the wire tag is noted where it differs.
 */

/** Which schema the report follows: RFC 9990 by namespace, `<version>`2.0 or its new elements. */
export type AggregateSchema = 'rfc7489' | 'rfc9990';

/** "none" | "quarantine" | "reject" (RFC 9990 adds "pass" to ActionDispositionType). */
export type Disposition = 'none' | 'quarantine' | 'reject' | 'pass';
/** DMARC policy values in policy_published (p, sp, np). */
export type PolicyValue = 'none' | 'quarantine' | 'reject';
/** DMARCResultType: the aligned DKIM/SPF verdict in policy_evaluated. */
export type DmarcResultValue = 'pass' | 'fail';
/** DKIMResultType (RFC 7489 App. C). "unknown": a value outside the schema, see warnings. */
export type DkimAuthValue = 'none' | 'pass' | 'fail' | 'policy' | 'neutral' | 'temperror' | 'permerror' | 'unknown';
/** SPFResultType (RFC 7208 results). "unknown": a value outside the schema, see warnings. */
export type SpfAuthValue = 'none' | 'neutral' | 'pass' | 'fail' | 'softfail' | 'temperror' | 'permerror' | 'unknown';
/** PolicyOverrideType (RFC 7489 App. C; RFC 9990 §A). */
export type OverrideType =
  | 'forwarded'
  | 'sampled_out'
  | 'trusted_forwarder'
  | 'mailing_list'
  | 'local_policy'
  | 'policy_test_mode'
  | 'other';

export interface ReportMetadata {
  /** "org_name": the reporting organisation; may be empty in the wild. */
  orgName: string;
  /** "email": the reporter's contact address. */
  email: string;
  /** "extra_contact_info", if given. */
  extraContactInfo?: string;
  /** "report_id": unique per reporter; with orgName, the deduplication key. */
  reportId: string;
  /** "date_range/begin": seconds since the epoch, UTC. */
  begin: number;
  /** "date_range/end": seconds since the epoch, UTC. */
  end: number;
  /** "error": free-text errors the reporter met. */
  errors: string[];
  /** "generator" (RFC 9990): the software that wrote the report. */
  generator?: string;
}

export interface PolicyPublished {
  /** "domain": the domain whose policy was applied. */
  domain: string;
  /** "adkim": DKIM alignment mode, r or s. */
  adkim?: 'r' | 's';
  /** "aspf": SPF alignment mode, r or s. */
  aspf?: 'r' | 's';
  /** "p": the domain policy. */
  p?: PolicyValue;
  /** "sp": the subdomain policy. */
  sp?: PolicyValue;
  /** "np" (RFC 9990): the non-existent subdomain policy. */
  np?: PolicyValue;
  /** "psd" (RFC 9990): y (public suffix domain), n, or u (unknown). */
  psd?: 'y' | 'n' | 'u';
  /** "testing" (RFC 9990, the `t` tag): y or n. */
  testing?: 'y' | 'n';
  /** "discovery_method" (RFC 9990): psl or treewalk. */
  discoveryMethod?: string;
  /** "pct" (RFC 7489 only), 0–100. */
  pct?: number;
  /** "fo": failure reporting options, as published. */
  fo?: string;
}

export interface PolicyOverrideReason {
  /** "type". */
  type: OverrideType;
  /** "comment", if any. */
  comment?: string;
}

export interface DkimAuthResult {
  /** "domain": the d= of the signature. */
  domain: string;
  /** "selector": the s= of the signature, if reported. */
  selector?: string;
  /** "result". */
  result: DkimAuthValue;
  /** "human_result", if any. */
  humanResult?: string;
}

export interface SpfAuthResult {
  /** "domain": the domain checked. */
  domain: string;
  /** "scope": helo or mfrom; missing in some reports. */
  scope?: 'helo' | 'mfrom';
  /** "result". */
  result: SpfAuthValue;
  /** "human_result" (RFC 9990), if any. */
  humanResult?: string;
}

export interface AggregateRecord {
  /** "row/source_ip": as written (validated for IPv4/IPv6; see warnings). */
  sourceIp: string;
  /** "row/count": messages from this source with these results. */
  count: number;
  /** "policy_evaluated/disposition". */
  disposition?: Disposition;
  /** "policy_evaluated/dkim": the aligned DKIM verdict. */
  dkim?: DmarcResultValue;
  /** "policy_evaluated/spf": the aligned SPF verdict. */
  spf?: DmarcResultValue;
  /** "policy_evaluated/reason": overrides applied by the receiver. */
  reasons: PolicyOverrideReason[];
  /** "identifiers/header_from": the RFC 5322 From domain. */
  headerFrom: string;
  /** "identifiers/envelope_from": the RFC 5321 MAIL FROM domain; often missing. */
  envelopeFrom?: string;
  /** "identifiers/envelope_to": the recipient domain, if reported. */
  envelopeTo?: string;
  /** "auth_results/dkim". */
  dkimResults: DkimAuthResult[];
  /** "auth_results/spf". */
  spfResults: SpfAuthResult[];
}

export interface AggregateReport {
  /** Schema detected from namespace, version and elements. */
  schema: AggregateSchema;
  /** "version", if present (0.1, 1.0, 2.0 seen in the wild). */
  version?: string;
  metadata: ReportMetadata;
  policy: PolicyPublished;
  records: AggregateRecord[];
}

/** Something tolerated while parsing: where it was and what was done. */
export interface ParseWarning {
  /** Element path, e.g. "record[3]/auth_results/spf[0]/result". */
  path: string;
  message: string;
}
