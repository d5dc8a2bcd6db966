/**
 * Authentication-Results (RFC 8601): the shared vocabulary (STYLE §6). SPF and DKIM results are
 * written into it, DMARC and ARC read it, report rows are built from the same facts.
 *
 * ```abnf
 * authres-header-field = "Authentication-Results:" authres-payload        ; RFC 8601 2.2
 * authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
 *                   ( no-result / 1*resinfo ) [CFWS] CRLF
 * authserv-id     = value
 * authres-version = 1*DIGIT [CFWS]
 * no-result       = [CFWS] ";" [CFWS] "none"
 * resinfo         = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
 * methodspec      = [CFWS] method [CFWS] "=" [CFWS] result
 * method          = Keyword [ [CFWS] "/" [CFWS] method-version ]
 * reasonspec      = "reason" [CFWS] "=" [CFWS] value
 * propspec        = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
 * ptype           = Keyword                 ; "smtp" / "header" / "body" / "policy" / ...
 * pvalue          = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
 * value           = token / quoted-string   ; RFC 2045 5.1
 * ```
 */

/** Registered methods (RFC 8601 6.3 and later registrations); others are kept as written. */
export type KnownAuthMethod =
  | 'auth'
  | 'dkim'
  | 'dmarc'
  | 'arc'
  | 'spf'
  | 'iprev'
  | 'sender-id'
  | 'dkim-adsp'
  | 'dkim-atps'
  | 'domainkeys'
  | 'rrvs'
  | 'smime'
  | 'vbr'
  | 'dnswl'
  | 'bimi';

/** A method name, lowercased. Unregistered ones (Microsoft's `compauth`) are kept, not dropped. */
export type AuthMethod = KnownAuthMethod | (string & {});

/** Property types of RFC 8601 2.3 (plus `''` for a bare `key=value`, as Microsoft writes `action=none`). */
export type AuthPropertyType = 'smtp' | 'header' | 'body' | 'policy' | '' | (string & {});

export interface AuthProperty {
  /** `smtp`, `header`, `body`, `policy`; lowercased. Empty for a bare keyword. */
  ptype: AuthPropertyType;
  /** e.g. `mailfrom`, `from`, `d`, `s`, `a`, `b`; lowercased. */
  property: string;
  /** The value, unquoted. */
  value: string;
}

export interface AuthResult {
  method: AuthMethod;
  /** `dkim/1`: the method version, when written. */
  methodVersion?: number;
  /** `pass`, `fail`, `none`, `temperror`, ... lowercased. */
  result: string;
  /** The comment right after the result, e.g. Gmail's `(p=NONE sp=NONE dis=NONE)`, without parentheses. */
  comment?: string;
  /** `reason=`: free text, unquoted. */
  reason?: string;
  properties: AuthProperty[];
}

export interface AuthResults {
  /** Who produced the results (RFC 8601 2.5). Empty when a header omits it (Microsoft does). */
  authservId: string;
  /** `authres-version`; absent means 1. */
  version?: number;
  /** Empty means "none": no method was applied (RFC 8601 2.2). */
  results: AuthResult[];
}

export type AuthResultsParse = { ok: true; authResults: AuthResults } | { ok: false; reason: string };
