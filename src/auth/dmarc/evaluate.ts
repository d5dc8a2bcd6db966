/**
 * DMARC evaluation (RFC 9989 §4.4, §4.10.1, §5.3.4–5.3.6). Pure: the DNS work is done by
 * discovery and handed in as DmarcDiscovered.
 *
 * Decisions beyond the letter of the RFC, each on the side of "never a wrong pass or fail":
 * - An underlying temperror (SPF, or a DKIM signature) on an identifier that would align, or an
 *   Organizational Domain that could not be looked up, makes a non-passing result `temperror`
 *   rather than `fail`: the outcome depends on what could not be learnt (§5.3.6 in spirit).
 * - A pass needs one aligned pass; once there is one, unknowns elsewhere do not matter.
 */
import type {
  AlignmentMode,
  DmarcDiscovered,
  DmarcDkimInput,
  DmarcDnsQuery,
  DmarcEvaluation,
  DmarcInput,
  DmarcPolicy,
  DmarcRecord,
  FromDomainError,
  PolicyDiscovery,
  PolicyTag,
} from './types.js';

type Alignment = { status: 'aligned' } | { status: 'not-aligned' } | { status: 'unknown'; why: string };
type FoundPolicy = Extract<PolicyDiscovery, { kind: 'found' }>;

const lower = (d: string): string => {
  const l = d.toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
};

/**
 * The domains whose Organizational Domain relaxed alignment needs (§4.10.2), for discovery to
 * look up: none when DMARC does not apply, when alignment is strict, when an identifier equal to
 * the From domain already passes, or when every identifier equals the From domain. An
 * Organizational Domain is always the domain itself or an ancestor, so once the From domain's is
 * known (`fromOrganizationalDomain`), only identifiers at or below it can align; others need no walk.
 */
export function organizationalDomainsNeeded(
  input: DmarcInput,
  policy: PolicyDiscovery,
  fromOrganizationalDomain: string | null = policy.kind === 'found' ? policy.organizationalDomain : null,
): string[] {
  if (policy.kind !== 'found' || policy.record.policyFault?.handling === 'no-dmarc') return [];
  const from = lower(input.fromDomain);
  const ids = identifiers(input, policy.record);
  if (ids.some((id) => id.result === 'pass' && lower(id.domain) === from)) return [];
  const needed = new Set<string>();
  for (const id of ids) {
    const domain = lower(id.domain);
    if (id.mode === 'strict' || domain === from) continue;
    if (fromOrganizationalDomain === null || isAtOrBelow(domain, fromOrganizationalDomain)) needed.add(domain);
  }
  if (needed.size > 0 && fromOrganizationalDomain === null) return [from, ...needed];
  return [...needed];
}

/** `domain` is `ancestor` or a subdomain of it. */
export function isAtOrBelow(domain: string, ancestor: string): boolean {
  return domain === ancestor || domain.endsWith(`.${ancestor}`);
}

/** The facts of an evaluation that found no policy: the start of every outcome. */
export function blankEvaluationFacts(fromDomain: string | null, fromError: FromDomainError | null) {
  return {
    fromDomain,
    fromError,
    policyDomain: null,
    organizationalDomain: null,
    record: null,
    policyTag: null,
    policy: null,
    testing: false,
    mode: null,
    alignment: { spf: false, dkim: false },
    alignedDkim: null,
    warnings: [] as string[],
    trace: [] as DmarcDnsQuery[],
  };
}

/** Judges the facts against the discovered policy. Never throws. */
export function evaluateDmarc(input: DmarcInput, discovered: DmarcDiscovered): DmarcEvaluation {
  const policy = discovered.policy;
  const from = lower(input.fromDomain);
  const base = {
    ...blankEvaluationFacts(from, null),
    warnings: policy.warnings,
    trace: [...policy.trace, ...Object.values(discovered.organizationalDomains).flatMap((o) => o.trace)],
  };
  if (policy.kind === 'temperror') {
    return { ...base, result: 'temperror', appliedPolicy: null, reason: `${policy.reason}; the policy is unknown (RFC 9989 §5.3.6)` };
  }
  if (policy.kind === 'none') {
    const reason = `no DMARC Policy Record for ${from} or its parents: DMARC does not apply (RFC 9989 §4.10.1)`;
    return { ...base, result: 'none', appliedPolicy: null, reason };
  }
  const record = policy.record;
  const orgOf = (domain: string): { ok: true; org: string } | { ok: false; why: string } => {
    if (domain === from && policy.organizationalDomain !== null) return { ok: true, org: policy.organizationalDomain };
    const found = discovered.organizationalDomains[domain];
    if (found === undefined) return { ok: false, why: `the Organizational Domain of ${domain} was not looked up` };
    if (found.kind === 'temperror') return { ok: false, why: `the Organizational Domain of ${domain} is unknown (${found.reason})` };
    return { ok: true, org: found.organizationalDomain };
  };
  const fromOrg = orgOf(from);
  const selection = selectPolicy(from, policy);
  const found = {
    ...base,
    policyDomain: policy.policyDomain,
    organizationalDomain: fromOrg.ok ? fromOrg.org : null,
    record,
    testing: record.testing,
    mode: { spf: record.spfAlignment, dkim: record.dkimAlignment },
    policyTag: selection.ok ? selection.tag : null,
    policy: selection.ok ? selection.policy : null,
  };
  if (record.policyFault?.handling === 'no-dmarc') {
    const reason =
      `the DMARC record at _dmarc.${policy.policyDomain} has an invalid ${record.policyFault.tags.join(', ')} ` +
      `and no valid rua: no DMARC processing (RFC 9989 §4.10.1)`;
    return { ...found, policyTag: null, policy: null, result: 'permerror', appliedPolicy: null, reason };
  }

  const align = (domain: string, mode: AlignmentMode): Alignment => {
    const id = lower(domain);
    if (id === from) return { status: 'aligned' };
    if (mode === 'strict') return { status: 'not-aligned' };
    if (!fromOrg.ok) return { status: 'unknown', why: fromOrg.why };
    if (!isAtOrBelow(id, fromOrg.org)) return { status: 'not-aligned' };
    const org = orgOf(id);
    if (!org.ok) return { status: 'unknown', why: org.why };
    return org.org === fromOrg.org ? { status: 'aligned' } : { status: 'not-aligned' };
  };
  const ids = identifiers(input, record).map((id) => ({ ...id, alignment: align(id.domain, id.mode) }));
  const aligned = ids.filter((id) => id.result === 'pass' && id.alignment.status === 'aligned');
  const spfAligned = aligned.some((id) => id.kind === 'spf');
  const dkimAligned = aligned.find((id) => id.kind === 'dkim');
  const alignment = { spf: spfAligned, dkim: dkimAligned !== undefined };
  const alignedDkim = dkimAligned ? { domain: lower(dkimAligned.domain), selector: dkimAligned.selector } : null;

  if (aligned.length > 0) {
    const names = aligned.map((id) => describe(id, true));
    const how = aligned.every((id) => lower(id.domain) === from) ? '' : ` (relaxed: Organizational Domain ${found.organizationalDomain})`;
    const reason = `${names.join(' and ')} aligned with ${from}${how}`;
    return { ...found, alignment, alignedDkim, result: 'pass', appliedPolicy: 'none', reason };
  }

  const uncertain = ids.flatMap((id) => {
    if (id.alignment.status === 'unknown') return id.result === 'pass' ? [id.alignment.why] : [`${describe(id)}: ${id.alignment.why}`];
    if (id.result === 'temperror' && id.alignment.status === 'aligned') return [`${describe(id)} could not be checked`];
    return [];
  });
  if (!selection.ok) uncertain.push(selection.why);
  if (uncertain.length > 0 || !selection.ok) {
    const reason = `no aligned pass, and ${uncertain.join('; ')}: the result is unknown (RFC 9989 §5.3.6)`;
    return { ...found, alignment, alignedDkim, result: 'temperror', appliedPolicy: null, reason };
  }

  const appliedPolicy = record.testing ? oneLevelBelow(selection.policy) : selection.policy;
  const spf = input.spf.domain === null ? `SPF (no MAIL FROM domain)` : `SPF (${describeSpf(input)})`;
  const dkim = input.dkim.length === 0 ? 'DKIM (no signature)' : `DKIM (${input.dkim.map((d) => describeDkim(d)).join(', ')})`;
  const testing = record.testing && appliedPolicy !== selection.policy ? `, t=y: applied as ${appliedPolicy} (RFC 9989 §4.7)` : '';
  const reason =
    `neither ${spf} nor ${dkim} aligned with ${from}; ` +
    `${selection.tag}=${selection.policy} from _dmarc.${policy.policyDomain}${testing}`;
  return { ...found, alignment, alignedDkim, result: 'fail', appliedPolicy, reason };
}

/**
 * §4.10.1: p for the policy domain itself; for a subdomain of it, sp if the From domain exists,
 * np if it does not (§3.2.13), each falling back (np → sp → p, §4.7).
 */
export function selectPolicy(
  from: string,
  policy: FoundPolicy,
): { ok: true; tag: PolicyTag; policy: DmarcPolicy } | { ok: false; why: string } {
  const r = policy.record;
  if (policy.policyDomain === from) return { ok: true, tag: 'p', policy: r.policy };
  if (r.nonExistentPolicy !== null) {
    if (policy.fromDomainExists === 'nxdomain') return { ok: true, tag: 'np', policy: r.nonExistentPolicy };
    if (policy.fromDomainExists === 'tempfail') {
      return { ok: false, why: `whether ${from} exists (np or sp) could not be learnt` };
    }
  }
  return r.subdomainPolicy !== null ? { ok: true, tag: 'sp', policy: r.subdomainPolicy } : { ok: true, tag: 'p', policy: r.policy };
}

/** §4.7 "t": with t=y, quarantine is applied as none and reject as quarantine; none stays none. */
export function oneLevelBelow(policy: DmarcPolicy): DmarcPolicy {
  return policy === 'reject' ? 'quarantine' : 'none';
}

type Identifier = {
  kind: 'spf' | 'dkim';
  result: string;
  domain: string;
  selector: string;
  mode: AlignmentMode;
};

/** The identifiers that could align: SPF and DKIM passes (§4.4.1, §4.4.2), and temperrors. */
function identifiers(input: DmarcInput, record: DmarcRecord): Identifier[] {
  const ids: Identifier[] = [];
  const { spf } = input;
  if (spf.domain !== null && (spf.result === 'pass' || spf.result === 'temperror')) {
    ids.push({ kind: 'spf', result: spf.result, domain: spf.domain, selector: '', mode: record.spfAlignment });
  }
  for (const sig of input.dkim) {
    if (sig.result === 'pass' || sig.result === 'temperror') {
      ids.push({ kind: 'dkim', result: sig.result, domain: sig.domain, selector: sig.selector, mode: record.dkimAlignment });
    }
  }
  return ids;
}

function describe(id: Identifier, withSelector = false): string {
  if (id.kind === 'spf') return `SPF (${lower(id.domain)})`;
  return withSelector ? `DKIM (d=${lower(id.domain)} s=${id.selector})` : `DKIM (d=${lower(id.domain)})`;
}

function describeSpf(input: DmarcInput): string {
  const domain = lower(input.spf.domain ?? '');
  return input.spf.result === 'pass' ? domain : `${domain}: ${input.spf.result}`;
}

function describeDkim(sig: DmarcDkimInput): string {
  return sig.result === 'pass' ? `d=${lower(sig.domain)}` : `d=${lower(sig.domain)}: ${sig.result}`;
}
