/**
 * The authentication chain the MX runs on every message, and `kagami verify` runs on a file:
 * SPF (started at MAIL FROM), DKIM, ARC, then DMARC over their results, and the
 * Authentication-Results field that records them. Facts only: what to do with them is policy's
 * job (issue #4). Every check is bounded in time; running out of time is a temperror.
 */
import { verifyArc } from '../auth/arc/verify.js';
import type { ArcResult } from '../auth/arc/types.js';
import { formatAuthResults } from '../auth/authres/format.js';
import type { AuthResult } from '../auth/authres/types.js';
import { splitMessage } from '../message/headers.js';
import type { DkimResult } from '../auth/dkim/types.js';
import { verifyDkim } from '../auth/dkim/verify.js';
import type { DmarcEvaluation } from '../auth/dmarc/types.js';
import { blankEvaluationFacts } from '../auth/dmarc/evaluate.js';
import { verifyDmarc } from '../auth/dmarc/verify.js';
import { verifySpf, type SpfVerification } from '../auth/spf/verify.js';
import type { DnsResolver } from '../dns/types.js';

export interface AuthenticationInput {
  /** The message as received (CRLF). */
  message: Buffer;
  ip: string;
  helo: string;
  /** The reverse-path; "" for the null reverse-path. */
  mailFrom: string;
  /** Our authserv-id (RFC 8601 2.5): the host name. */
  authservId: string;
  /** Seconds since the epoch, for DKIM x=/t= and ARC. */
  now?: number;
  /** SPF already started at MAIL FROM. */
  spf?: Promise<SpfVerification>;
  /** Budget for the whole chain in milliseconds (default 30 s); what is not done by then is temperror. */
  timeoutMs?: number;
}

/** One DKIM signature as the verdict reports it. */
export interface DkimVerdict {
  result: DkimResult['result'];
  domain: string;
  selector: string;
  algorithm: string;
  /** The signature passed and its d= aligns with the From domain (RFC 9989 4.4.1). */
  aligned: boolean;
  reason: string;
  /** `l=` is present: content can be appended without breaking the signature. */
  bodyLengthLimited: boolean;
}

export interface AuthenticationVerdict {
  spf: SpfVerification;
  dkim: DkimVerdict[];
  arc: ArcResult;
  dmarc: DmarcEvaluation;
  /** The value of every From field (normally one). */
  headerFrom: string[];
  /** List-Id (RFC 2919) and Subject, for local policy and the quarantine index. */
  listId: string | null;
  subject: string | null;
  /** The whole Authentication-Results field, folded, ending in CRLF. */
  authenticationResults: string;
}

function deadline<T>(work: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const spfTimeout = (input: AuthenticationInput): SpfVerification => ({
  result: 'temperror',
  domain: input.mailFrom.split('@').pop() ?? input.helo,
  reason: 'SPF did not finish in time (DNS too slow)',
  lookups: 0,
  voidLookups: 0,
  trace: [],
  identity: input.mailFrom ? 'mailfrom' : 'helo',
  sender: input.mailFrom || `postmaster@${input.helo}`,
});

/** Strict: d= equals the From domain; relaxed: both under the same Organizational Domain. */
function dkimAligned(sig: DkimResult, dmarc: DmarcEvaluation): boolean {
  if (sig.result !== 'pass' || !dmarc.fromDomain) return false;
  const d = sig.domain;
  if (d === dmarc.fromDomain) return true;
  if (dmarc.mode?.dkim === 'strict') return false;
  const org = dmarc.organizationalDomain;
  return Boolean(org && (d === org || d.endsWith('.' + org)));
}

export async function authenticateMessage(input: AuthenticationInput, resolver: DnsResolver): Promise<AuthenticationVerdict> {
  const budget = input.timeoutMs ?? 30_000;
  const nowSeconds = input.now ?? Math.floor(Date.now() / 1000);
  const spfWork = input.spf ?? verifySpf({ ip: input.ip, mailFrom: input.mailFrom, helo: input.helo }, resolver);
  const [spf, dkim, arc] = await Promise.all([
    deadline(spfWork, budget, () => spfTimeout(input)),
    deadline(verifyDkim(input.message, resolver, { now: () => nowSeconds }), budget, () => [] as DkimResult[]),
    deadline(verifyArc(input.message, resolver, { now: nowSeconds }), budget, (): ArcResult => ({ result: 'temperror', reason: 'ARC did not finish in time' })),
  ]);
  const fields = splitMessage(input.message).fields;
  const valuesOf = (key: string) => fields.filter((f) => f.key === key).map((f) => f.raw.slice(f.raw.indexOf(':') + 1).replace(/\r\n$/, ''));
  const headerFrom = valuesOf('from');
  const unfold = (v: string | undefined) => (v === undefined ? null : v.replace(/\r\n[ \t]/g, ' ').trim());
  // DMARC uses SPF's MAIL FROM result only (RFC 9989 4.4.2); a HELO-only check aligns nothing.
  const spfForDmarc = { result: spf.identity === 'mailfrom' ? spf.result : 'none', domain: spf.identity === 'mailfrom' ? spf.domain : null } as const;
  const dmarc = await deadline(
    verifyDmarc({ fromHeaders: headerFrom, spf: spfForDmarc, dkim: dkim.map((d) => ({ result: d.result, domain: d.domain, selector: d.selector })) }, resolver),
    budget,
    (): DmarcEvaluation => ({ ...blankEvaluationFacts(null, null), result: 'temperror', appliedPolicy: null, reason: 'DMARC did not finish in time (DNS too slow)' }),
  );
  const dkimVerdicts = dkim.map((d) => ({
    result: d.result,
    domain: d.domain,
    selector: d.selector,
    algorithm: d.algorithm,
    aligned: dkimAligned(d, dmarc),
    reason: d.reason,
    bodyLengthLimited: Boolean(d.bodyLengthLimited),
  }));
  const authenticationResults = formatAuthResults({
    authservId: input.authservId,
    results: authResultEntries(spf, dkim, arc, dmarc),
  });
  return {
    spf,
    dkim: dkimVerdicts,
    arc,
    dmarc,
    headerFrom,
    listId: unfold(valuesOf('list-id')[0]),
    subject: unfold(valuesOf('subject')[0]),
    authenticationResults,
  };
}

/** Header fields are ASCII (RFC 5322 2.2): reasons written into one lose anything else. */
function ascii(text: string): string {
  return text.replace(/§\s*/g, 'section ').replace(/[^\x20-\x7e]/g, '?');
}

/** The results in RFC 8601 form: spf, one dkim per signature (or dkim=none), arc, dmarc. */
function authResultEntries(spf: SpfVerification, dkim: DkimResult[], arc: ArcResult, dmarc: DmarcEvaluation): AuthResult[] {
  const entries: AuthResult[] = [];
  entries.push({
    method: 'spf',
    result: spf.result,
    ...(spf.result === 'pass' ? {} : { reason: ascii(spf.reason) }),
    properties: spf.identity === 'helo' ? [{ ptype: 'smtp', property: 'helo', value: spf.domain }] : [{ ptype: 'smtp', property: 'mailfrom', value: spf.sender }],
  });
  if (dkim.length === 0) entries.push({ method: 'dkim', result: 'none', properties: [] });
  for (const d of dkim) {
    const properties = [
      { ptype: 'header', property: 'd', value: d.domain },
      { ptype: 'header', property: 's', value: d.selector },
      { ptype: 'header', property: 'a', value: d.algorithm },
    ];
    // RFC 6008: the first 8 characters of b= tell signatures with the same d= and s= apart.
    if (d.signature) properties.push({ ptype: 'header', property: 'b', value: d.signature.slice(0, 8) });
    entries.push({ method: 'dkim', result: d.result, ...(d.result === 'pass' ? {} : { reason: ascii(d.reason) }), properties });
  }
  entries.push({
    method: 'arc',
    result: arc.result,
    properties: arc.result === 'pass' ? [{ ptype: 'header', property: 'oldest-pass', value: String(arc.oldestPass) }] : [],
  });
  const comment = dmarc.policy ? `p=${dmarc.policy.toUpperCase()} dis=${(dmarc.appliedPolicy ?? 'none').toUpperCase()}${dmarc.testing ? ' t=y' : ''}` : undefined;
  entries.push({
    method: 'dmarc',
    result: dmarc.result,
    ...(comment ? { comment } : {}),
    ...(dmarc.result === 'pass' ? {} : { reason: ascii(dmarc.reason) }),
    properties: dmarc.fromDomain ? [{ ptype: 'header', property: 'from', value: dmarc.fromDomain }] : [],
  });
  return entries;
}
