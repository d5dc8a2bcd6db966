/**
 * DMARC (RFC 9989, which obsoletes RFC 7489 and RFC 9091): the record, what discovery found in
 * the DNS, and the evaluation. Parse (`parse.ts`) → discover (`discover.ts`, the only DNS user) →
 * evaluate (`evaluate.ts`, pure) → `verify.ts` wires them. Section numbers below are RFC 9989's.
 */

/** Domain Owner Assessment Policy values (§4.8 `dmarc-request`). */
export type DmarcPolicy = 'none' | 'quarantine' | 'reject';
/** §4.8 `dmarc-rors`: "r" relaxed (same Organizational Domain) or "s" strict (identical). */
export type AlignmentMode = 'relaxed' | 'strict';
/** §4.7 `psd`: "y" the domain is a PSD, "n" it is an Organizational Domain, "u" unknown. */
export type PsdFlag = 'y' | 'n' | 'u';
/** §4.7 `fo`: failure reporting options. */
export type FailureOption = '0' | '1' | 'd' | 's';
/** The three policy tags, in the order §4.10.1 consults them. */
export type PolicyTag = 'p' | 'sp' | 'np';

/**
 * What §4.10.1 says to do with a record whose `p` is invalid, or whose `sp` or `np` is invalid:
 * with at least one valid `rua` URI act as if it said `p=none` (`as-p-none`); otherwise apply no
 * DMARC processing to the message (`no-dmarc`, reported as `permerror`).
 */
export interface PolicyFault {
  /** The policy tags that were present but invalid (or repeated). */
  tags: PolicyTag[];
  handling: 'as-p-none' | 'no-dmarc';
}

/**
 * A DMARC Policy Record (§4.7, formal definition §4.8):
 * ```abnf
 * dmarc-record  = dmarc-version *(dmarc-sep dmarc-tag) [dmarc-sep]
 * dmarc-version = "v" equals %s"DMARC1"            ; case sensitive
 * dmarc-tag     = 1*ALPHA equals 1*dmarc-value
 * dmarc-value   = %x20-3A / %x3C-7E                ; printing characters but ";"
 * dmarc-sep     = *WSP ";" *WSP
 * equals        = *WSP "=" *WSP
 * ```
 * Defaults are filled in; what was actually published is in `tags`.
 */
export interface DmarcRecord {
  /** "v": always DMARC1; anything else is not a DMARC record. */
  version: 'DMARC1';
  /** "p": absent means `none` (§4.7); see `policyFault` for an invalid value. */
  policy: DmarcPolicy;
  /** "sp": policy for existing subdomains of the Organizational Domain; null when absent. */
  subdomainPolicy: DmarcPolicy | null;
  /** "np": policy for non-existent subdomains (§3.2.13); null when absent. */
  nonExistentPolicy: DmarcPolicy | null;
  /** "psd": default `u`. */
  psd: PsdFlag;
  /** "t": `t=y` asks for the policy one level below the one published (§4.7). Default `n`. */
  testing: boolean;
  /** "adkim": default relaxed. */
  dkimAlignment: AlignmentMode;
  /** "aspf": default relaxed. */
  spfAlignment: AlignmentMode;
  /** "rua": aggregate report URIs that are syntactically valid (obsolete `!size` dropped). */
  aggregateReportUris: string[];
  /** "ruf": failure report URIs that are syntactically valid. */
  failureReportUris: string[];
  /** "fo": default `['0']`. */
  failureOptions: FailureOption[];
  /** Set when p/sp/np was invalid: §4.10.1 handling. */
  policyFault: PolicyFault | null;
  /** "pct", "rf", "ri": RFC 7489 tags, historic in RFC 9989 (§9.3, Appendix C.5.2); kept, never used. */
  obsolete: Partial<Record<'pct' | 'rf' | 'ri', string>>;
  /** Every tag as published (name lowercased, value trimmed), in order, including unknown ones. */
  tags: ReadonlyArray<{ name: string; value: string }>;
}

/** Why a record, or part of one, was not taken as written. */
export type DmarcParseIssueCode =
  /** `v=DMARC1` is not the first tag: the whole record is ignored (§4.7 "v"). */
  | 'not-dmarc'
  /** No `p` tag: treated as `p=none` (§4.7 "p"). */
  | 'missing-p'
  /** p/sp/np invalid or repeated: §4.10.1 handling (see PolicyFault). */
  | 'invalid-policy'
  /** A value that does not match its rule (§4.8 Table 2): the default is used (§4.8). */
  | 'invalid-value'
  /** A repeated tag (RFC 6376 3.2, whose tag-value syntax §4.7 adopts): ignored, default used. */
  | 'duplicate-tag'
  /** Not a registered tag: ignored (§4.7 "unknown tags MUST be ignored"). */
  | 'unknown-tag'
  /** pct, rf, ri: historic (§9.3), ignored. */
  | 'obsolete-tag'
  /** `!size` after a reporting URI: obsolete syntax, ignored (§4.8 obs-dmarc-report-size). */
  | 'obsolete-uri-size'
  /** A reporting URI that is not a URI (RFC 3986 3): dropped. */
  | 'invalid-uri'
  /** A segment that is not `tag=value`: ignored (§4.8). */
  | 'syntax';

export interface DmarcParseIssue {
  code: DmarcParseIssueCode;
  /** The tag concerned, lowercased, if any. */
  tag?: string;
  /** One sentence for logs and the dashboard. */
  message: string;
}

export type DmarcParseResult =
  | { ok: true; record: DmarcRecord; warnings: DmarcParseIssue[] }
  /** Not a DMARC record: discarded by the tree walk (§4.10 step 2). */
  | { ok: false; issues: DmarcParseIssue[] };

/** One DNS query made for DMARC, in order. */
export interface DmarcDnsQuery {
  name: string;
  type: 'TXT' | 'A' | 'AAAA' | 'MX';
  /** Policy discovery (§4.10.1), an Organizational Domain walk (§4.10.2), or the existence test (Appendix A.4). */
  purpose: 'policy' | 'organizational-domain' | 'existence';
  outcome: 'records' | 'nxdomain' | 'nodata' | 'tempfail';
  /** What the answer meant, e.g. "1 DMARC record (psd=y)" or the tempfail reason. */
  detail: string;
  /** Answered from this verification's memo of earlier queries: no packet was sent. */
  cached: boolean;
}

/**
 * Whether the From domain exists (§3.2.13, Appendix A.4): `nxdomain` when A, AAAA and MX all
 * answer NXDOMAIN. Checked only when it can change the outcome: the policy came from a parent
 * domain and publishes `np`.
 */
export type DomainExistence = 'exists' | 'nxdomain' | 'tempfail' | 'not-checked';

/** The result of DMARC Policy Discovery (§4.10.1) for one Author Domain. */
export type PolicyDiscovery =
  | {
      kind: 'found';
      fromDomain: string;
      /** Where the applied record was published (without `_dmarc.`). */
      policyDomain: string;
      record: DmarcRecord;
      /** The record is the Author Domain's own, its Organizational Domain's, or its PSD's. */
      source: 'author' | 'organizational' | 'psd';
      /**
       * The From domain's Organizational Domain when the walk already settled it (§4.10.2), else
       * null: then `findOrganizationalDomain(fromDomain)` finds it if alignment needs it.
       */
      organizationalDomain: string | null;
      fromDomainExists: DomainExistence;
      warnings: string[];
      trace: DmarcDnsQuery[];
    }
  /** No DMARC Policy Record anywhere on the walk: DMARC does not apply (§4.10.1). */
  | { kind: 'none'; fromDomain: string; warnings: string[]; trace: DmarcDnsQuery[] }
  /** A query on the walk failed temporarily (§5.3.6). */
  | { kind: 'temperror'; fromDomain: string; reason: string; warnings: string[]; trace: DmarcDnsQuery[] };

/** The result of Organizational Domain discovery (§4.10.2) for one domain. */
export type OrganizationalDomainLookup =
  | {
      kind: 'found';
      domain: string;
      organizationalDomain: string;
      /** Which selection step of §4.10.2 decided: 1 (psd=n), 2 (psd=y), 3 (fewest labels), or none found. */
      rule: 'psd=n' | 'psd=y' | 'fewest-labels' | 'no-record';
      trace: DmarcDnsQuery[];
    }
  | { kind: 'temperror'; domain: string; reason: string; trace: DmarcDnsQuery[] };

/** SPF results (RFC 7208 2.6). */
export type SpfResultName = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';
/** DKIM results per signature (RFC 8601 2.7.1). */
export type DkimResultName = 'pass' | 'fail' | 'neutral' | 'none' | 'policy' | 'temperror' | 'permerror';

/** What SPF found for the RFC5321.MailFrom identity (§4.4.2: DMARC uses MAIL FROM only). */
export interface DmarcSpfInput {
  result: SpfResultName;
  /** The domain SPF checked for the MAIL FROM identity; null when there was none. */
  domain: string | null;
}

/** One checked DKIM-Signature (§5.3.3: result, `d=` and `s=`). */
export interface DmarcDkimInput {
  result: DkimResultName;
  /** The signature's `d=`. */
  domain: string;
  /** The signature's `s=`. */
  selector: string;
}

/** The facts evaluateDmarc judges. */
export interface DmarcInput {
  /** The Author Domain (§3.2.2), as extractFromDomain returns it (A-label, lowercase). */
  fromDomain: string;
  spf: DmarcSpfInput;
  dkim: readonly DmarcDkimInput[];
}

/** What discovery supplies to the pure evaluation. */
export interface DmarcDiscovered {
  policy: PolicyDiscovery;
  /**
   * Organizational Domains by lowercase domain, for the From domain (unless `policy` settled it),
   * the SPF domain and each DKIM `d=` that relaxed alignment has to compare
   * (`organizationalDomainsNeeded` lists them). A missing entry counts as unknown.
   */
  organizationalDomains: Readonly<Record<string, OrganizationalDomainLookup>>;
}

/** The DMARC result (RFC 9989 §9.2, RFC 8601 2.7.7). */
export type DmarcResult = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';

/** Why no single Author Domain could be taken from the From header fields (§5.3.1). */
export type FromDomainError = 'no From' | 'multiple From' | 'multiple addresses' | 'unparseable';

interface DmarcEvaluationFacts {
  /** The Author Domain, or null when none could be extracted (see `fromError`). */
  fromDomain: string | null;
  fromError: FromDomainError | null;
  /** Where the applied record was found, or null when none applies. */
  policyDomain: string | null;
  /** The From domain's Organizational Domain when it was determined. */
  organizationalDomain: string | null;
  /** The applied record. */
  record: DmarcRecord | null;
  /** The tag whose value applies (§4.10.1): p for the policy domain itself, sp / np for subdomains. */
  policyTag: PolicyTag | null;
  /** That tag's value (or the value it falls back to). */
  policy: DmarcPolicy | null;
  /** The record says `t=y`. */
  testing: boolean;
  /** The alignment modes of the record (adkim, aspf). */
  mode: { spf: AlignmentMode; dkim: AlignmentMode } | null;
  /** Whether a passing SPF / DKIM identifier aligned with the From domain. */
  alignment: { spf: boolean; dkim: boolean };
  /** The first passing DKIM signature that aligned. */
  alignedDkim: { domain: string; selector: string } | null;
  /** The outcome in words, e.g. "neither SPF (bounce.x.com) nor DKIM (d=list.example.org) aligned with example.com". */
  reason: string;
  /** Obsolete and unknown tags, discarded duplicate records, and similar. */
  warnings: string[];
  /** Every DNS query made, in order. */
  trace: DmarcDnsQuery[];
}

/**
 * The verdict's DMARC part. `appliedPolicy` is the policy to apply after tag selection and `t=y`:
 * `none` on pass, the (possibly lowered) policy on fail, null when DMARC gave no answer.
 */
export type DmarcEvaluation = DmarcEvaluationFacts &
  (
    | { result: 'pass'; appliedPolicy: 'none' }
    | { result: 'fail'; appliedPolicy: DmarcPolicy }
    | { result: 'none' | 'temperror' | 'permerror'; appliedPolicy: null }
  );
