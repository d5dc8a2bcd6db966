/**
 * DMARC Policy Discovery (RFC 9989 §4.10.1) and Organizational Domain discovery (§4.10.2). The
 * only DMARC code that asks the DNS, and only through the injected port. A temporary DNS failure
 * at any step of a walk ends it with `temperror` (§5.3.6).
 */
import type { DnsResolver } from '../../dns/types.js';
import type { DmarcDnsQuery, DomainExistence, OrganizationalDomainLookup, PolicyDiscovery } from './types.js';
import {
  createDmarcDnsSession,
  normalizeDomain,
  selectOrganizationalDomain,
  treeWalkNames,
  walk,
  type DmarcDnsSession,
  type WalkStep,
} from './walk.js';

export { createDmarcDnsSession, treeWalkNames, type DmarcDnsSession } from './walk.js';

/**
 * Finds the DMARC Policy Record that applies to mail from `fromDomain` (§4.10.1): the Author
 * Domain's own record; failing that, the DNS Tree Walk from its parent (or from its seven-label
 * suffix when it has more than eight labels) finds the Organizational Domain, whose record applies,
 * or else the Public Suffix Domain's (psd=y). Pass a session to share answers with later walks.
 */
export async function discoverPolicy(
  fromDomain: string,
  resolver: DnsResolver,
  session: DmarcDnsSession = createDmarcDnsSession(resolver),
): Promise<PolicyDiscovery> {
  const from = normalizeDomain(fromDomain);
  const trace: DmarcDnsQuery[] = [];
  const names = treeWalkNames(from);

  const first = await walk(names.slice(0, 1), session, 'policy', trace);
  if (!first.ok) return temperror(from, first, trace);
  const own = first.steps[0]?.record ?? null;
  if (own !== null) {
    // psd=n or psd=y at the Author Domain settles its Organizational Domain: itself (§4.10.2 steps 1, 3).
    return {
      kind: 'found',
      fromDomain: from,
      policyDomain: from,
      record: own,
      source: 'author',
      organizationalDomain: own.psd === 'u' ? null : from,
      fromDomainExists: 'not-checked',
      warnings: [...first.warnings, ...recordWarnings(first.steps[0]!)],
      trace,
    };
  }

  const rest = await walk(names.slice(1), session, 'policy', trace);
  const warnings = [...first.warnings, ...rest.warnings];
  if (!rest.ok) return temperror(from, rest, trace, warnings);
  const steps = [...first.steps, ...rest.steps];
  if (steps.every((s) => s.record === null)) return { kind: 'none', fromDomain: from, warnings, trace };

  const { organizationalDomain } = selectOrganizationalDomain(from, steps);
  const orgStep = steps.find((s) => s.domain === organizationalDomain && s.record !== null);
  // Only the walk's last step can carry psd=y (the walk stops there); it is the PSD (§4.10.1).
  const applied = orgStep ?? steps.findLast((s) => s.record?.psd === 'y')!;
  const record = applied.record!;
  // Existence matters only when np is published for a subdomain (§4.10.1; absent np falls back
  // to sp, then p, exactly as for an existing subdomain).
  const fromDomainExists =
    record.nonExistentPolicy !== null ? await checkExistence(from, session.resolver, trace) : 'not-checked';
  return {
    kind: 'found',
    fromDomain: from,
    policyDomain: applied.domain,
    record,
    source: orgStep ? 'organizational' : 'psd',
    organizationalDomain,
    fromDomainExists,
    warnings: [...warnings, ...recordWarnings(applied)],
    trace,
  };
}

/**
 * The Organizational Domain of `domain` (§4.10.2): a full DNS Tree Walk starting at the domain
 * itself, then the selection of §4.10.2 over the records found.
 */
export async function findOrganizationalDomain(
  domain: string,
  resolver: DnsResolver,
  session: DmarcDnsSession = createDmarcDnsSession(resolver),
): Promise<OrganizationalDomainLookup> {
  const start = normalizeDomain(domain);
  const trace: DmarcDnsQuery[] = [];
  const outcome = await walk(treeWalkNames(start), session, 'organizational-domain', trace);
  if (!outcome.ok) {
    return { kind: 'temperror', domain: start, reason: `${outcome.failedAt}: ${outcome.reason}`, trace };
  }
  return { kind: 'found', domain: start, ...selectOrganizationalDomain(start, outcome.steps), trace };
}

/**
 * Appendix A.4 and §3.2.13: a domain does not exist when the DNS says NXDOMAIN. A, AAAA and MX
 * are asked in turn and the first answer that shows the name exists (records or NODATA) ends the
 * test; `nxdomain` needs all three, so one inconsistent server cannot make a domain vanish.
 */
export async function checkExistence(
  domain: string,
  resolver: DnsResolver,
  trace: DmarcDnsQuery[],
): Promise<DomainExistence> {
  let tempfail = false;
  for (const type of ['A', 'AAAA', 'MX'] as const) {
    const answer = await resolver.query(domain, type);
    const detail = answer.kind === 'tempfail' ? answer.reason : answer.kind;
    trace.push({ name: domain, type, purpose: 'existence', outcome: answer.kind, detail, cached: false });
    if (answer.kind === 'records' || answer.kind === 'nodata') return 'exists';
    if (answer.kind === 'tempfail') tempfail = true;
  }
  return tempfail ? 'tempfail' : 'nxdomain';
}

function recordWarnings(step: WalkStep): string[] {
  return step.warnings.map((w) => `_dmarc.${step.domain}: ${w.message}`);
}

function temperror(
  from: string,
  outcome: { failedAt?: string; reason?: string; warnings: string[] },
  trace: DmarcDnsQuery[],
  warnings: string[] = outcome.warnings,
): PolicyDiscovery {
  return {
    kind: 'temperror',
    fromDomain: from,
    reason: `DNS temporary failure for ${outcome.failedAt}: ${outcome.reason}`,
    warnings,
    trace,
  };
}
