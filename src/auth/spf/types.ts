/**
 * SPF (RFC 7208) types: the parsed record, the check_host() inputs and the closed result union
 * with its reason and lookup trace.
 *
 * Flow: `parseSpfRecord(text)` (pure) → `checkHost(input, resolver)` walks DNS through the
 * injected port and evaluates → `SpfResult`. `verifySpf` picks the identity (RFC 7208 2.3, 2.4).
 */
import type { RecordType } from '../../dns/types.js';

/** The seven check_host() results (RFC 7208 2.6). */
export type SpfResultCode = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

/** qualifier = "+" / "-" / "?" / "~" (RFC 7208 4.6.2); "+" when absent. */
export type SpfQualifier = '+' | '-' | '~' | '?';

/** Which identity was checked (RFC 7208 2.3 "HELO", 2.4 "MAIL FROM"). */
export type SpfIdentity = 'mailfrom' | 'helo';

/** One step of the evaluation, in order: which term, which DNS question, what came back. */
export interface SpfTraceStep {
  /** The domain whose record was being evaluated. */
  domain: string;
  /** 0 for the checked domain and its redirects, +1 inside each include. */
  depth: number;
  /** The term as written ("include:_spf.example.com", "-all"), or "record", "exp=…", "%{p}". */
  term: string;
  /** The DNS question, when the step asked one. */
  query?: { name: string; type: RecordType };
  /** The answer in short: "2 records: 192.0.2.1, 192.0.2.2", "NXDOMAIN", "NODATA", "tempfail (timeout)". */
  answer?: string;
  /** What the step concluded: "match", "no match", "void lookup 1/2", "DNS-querying term 3/10", … */
  note?: string;
}

/** Fields every result carries. */
interface SpfResultBase {
  /** The <domain> check_host() was asked about (before any redirect). */
  domain: string;
  /** What happened, in words an operator can act on. */
  reason: string;
  /** The term that decided, as written ("-all", "include:_spf.example.com"), when a term decided. */
  mechanism?: string;
  /** Terms that cost DNS lookups (include a mx ptr exists redirect), counted against the limit of 10 (RFC 7208 4.6.4). */
  lookups: number;
  /** Terms whose lookup found nothing (NXDOMAIN or NODATA), counted against the limit of 2 (RFC 7208 4.6.4). */
  voidLookups: number;
  trace: SpfTraceStep[];
}

/** The check_host() result: a closed union on `result` (RFC 7208 2.6). */
export type SpfResult =
  | (SpfResultBase & { result: 'pass' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror' })
  /** "fail" may carry the domain owner's explanation from exp= (RFC 7208 6.2). */
  | (SpfResultBase & { result: 'fail'; explanation?: string });

/** The arguments of check_host() (RFC 7208 4.1). */
export interface CheckHostInput {
  /** <ip>: the SMTP client's address, IPv4 or IPv6 (IPv4-mapped IPv6 counts as IPv4, RFC 7208 5). */
  ip: string;
  /** <domain>: the domain whose policy is checked. */
  domain: string;
  /** <sender>: the MAIL FROM or HELO identity, "local@domain"; an empty local-part becomes "postmaster" (4.3). */
  sender: string;
  /** The HELO/EHLO name, for the %{h} macro. */
  helo: string;
}

/** Limits and receiver facts; every limit is named and configurable (defaults are RFC 7208's). */
export interface CheckHostOptions {
  /** Terms that query DNS (include a mx ptr exists redirect). RFC 7208 4.6.4: 10. */
  maxLookups?: number;
  /** Void lookups tolerated. RFC 7208 4.6.4: 2 recommended. */
  maxVoidLookups?: number;
  /** MX names one "mx" term may use; more is a permerror (RFC 7208 4.6.4). Default 10. */
  maxMxNames?: number;
  /** PTR names one "ptr" term (or %{p}) looks at; the rest are ignored (RFC 7208 4.6.4). Default 10. */
  maxPtrNames?: number;
  /**
   * Wall-clock budget for one check; past it the result is temperror (RFC 7208 4.6.4: at least
   * 20 s). The clock is read from the fourth DNS query on; each query has the resolver's timeout.
   */
  timeoutMs?: number;
  /** Our own host name, for %{r} in explanations (RFC 7208 7.2). Default "unknown". */
  receiver?: string;
  /** Clock in milliseconds, for %{t} and the time budget. Default Date.now. */
  now?: () => number;
  /** Fetch and expand exp= on fail (RFC 7208 6.2). Default true. */
  explanation?: boolean;
}

/** The RFC 7208 defaults of CheckHostOptions. */
export const SPF_DEFAULTS = Object.freeze({
  maxLookups: 10,
  maxVoidLookups: 2,
  maxMxNames: 10,
  maxPtrNames: 10,
  timeoutMs: 20_000,
  receiver: 'unknown',
  explanation: true,
});

// ---------------------------------------------------------------------------------------------
// The parsed record (RFC 7208 4.6.1, 12):
//   record    = version terms *SP
//   version   = "v=spf1"
//   terms     = *( 1*SP ( directive / modifier ) )
//   directive = [ qualifier ] mechanism
//   mechanism = ( all / include / a / mx / ptr / ip4 / ip6 / exists )
//   modifier  = redirect / explanation / unknown-modifier
// ---------------------------------------------------------------------------------------------

/** macro-letter (RFC 7208 7.1); c r t only in explanation text. */
export type MacroLetter = 's' | 'l' | 'o' | 'd' | 'i' | 'p' | 'v' | 'h' | 'c' | 'r' | 't';

/** macro-expand = "%{" macro-letter transformers *delimiter "}" (RFC 7208 7.1). */
export interface MacroExpand {
  letter: MacroLetter;
  /** The DIGIT transformer: keep this many right-hand parts; 0 = all (RFC 7208 7.3). */
  keep: number;
  /** The "r" transformer. */
  reverse: boolean;
  /** Split characters; "." when none given. */
  delimiters: string;
  /** Uppercase letter: URL-escape the value (RFC 7208 7.3). */
  escape: boolean;
}

/** A macro-string compiled once: literals ("%%" "%_" "%-" already resolved) and macros. */
export interface MacroString {
  /** As written in the record. */
  source: string;
  /** The expansion when there is no macro letter, computed at parse time; else undefined. */
  constant: string | undefined;
  /** Literal text and macros in order; empty when `constant` is set. */
  parts: ReadonlyArray<string | MacroExpand>;
  /** Whether a %{p} appears (needs the PTR lookups before expanding). */
  usesP: boolean;
}

/** The result a matching mechanism gives, by qualifier (RFC 7208 4.6.2). */
export type SpfMatchResult = 'pass' | 'fail' | 'softfail' | 'neutral';

/** A mechanism with its qualifier, the result a match gives, and its text (for reasons and traces). */
export type SpfMechanism = { qualifier: SpfQualifier; result: SpfMatchResult; text: string } & (
  | { kind: 'all' }
  | { kind: 'include'; domain: MacroString }
  | { kind: 'exists'; domain: MacroString }
  | { kind: 'ptr'; domain: MacroString | undefined }
  /** dual-cidr-length: masks precomputed; `domain` undefined means <domain>. */
  | { kind: 'a' | 'mx'; domain: MacroString | undefined; cidr4: number; cidr6: number; mask4: number; mask6: Uint32Array }
  /** network already masked: a match is `(ip & mask) === network`. */
  | { kind: 'ip4'; network: number; cidr: number; mask: number }
  | { kind: 'ip6'; network: Uint32Array; cidr: number; mask: Uint32Array }
);

export interface SpfRecord {
  /** The record text as published. */
  text: string;
  /** Directives in order. */
  mechanisms: SpfMechanism[];
  /** redirect= target (RFC 7208 6.1), if any. */
  redirect: MacroString | undefined;
  /** exp= target (RFC 7208 6.2), if any. */
  exp: MacroString | undefined;
  /** An "all" mechanism is present: redirect= is then ignored (RFC 7208 6.1). */
  hasAll: boolean;
  /** Unknown modifiers, kept for tools; they do not change the result (RFC 7208 6). */
  unknownModifiers: Array<{ name: string; value: string }>;
}

/** Why a record is not valid: each becomes a permerror with these words. */
export type SpfParseErrorCode =
  | 'not-spf'
  | 'invalid-character'
  | 'unknown-mechanism'
  | 'missing-argument'
  | 'unexpected-argument'
  | 'bad-domain-spec'
  | 'bad-ip4'
  | 'bad-ip6'
  | 'bad-cidr'
  | 'bad-macro'
  | 'duplicate-modifier';

export interface SpfParseError {
  code: SpfParseErrorCode;
  /** The offending term as written. */
  term: string;
  /** Human words, citing the RFC section. */
  message: string;
}

export type SpfParseResult = { ok: true; record: SpfRecord } | { ok: false; error: SpfParseError };
