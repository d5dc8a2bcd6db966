/**
 * DMARC verification of one message: From → Author Domain (§5.3.1) → Policy Discovery (§4.10.1)
 * → the Organizational Domains relaxed alignment needs (§4.10.2) → evaluation. One DNS session
 * is shared by every walk, so no `_dmarc` name is asked twice. Never throws.
 */
import type { DnsResolver } from '../../dns/types.js';
import { createDmarcDnsSession, discoverPolicy, findOrganizationalDomain } from './discover.js';
import { blankEvaluationFacts, evaluateDmarc, organizationalDomainsNeeded } from './evaluate.js';
import { extractFromDomain } from './from.js';
import type {
  DmarcDkimInput,
  DmarcEvaluation,
  DmarcSpfInput,
  FromDomainError,
  OrganizationalDomainLookup,
} from './types.js';

export { extractFromDomain, type FromDomainExtraction } from './from.js';

export interface VerifyDmarcInput {
  /** The value of every From header field of the message, in order (normally exactly one). */
  fromHeaders: readonly string[];
  /** SPF's result for the RFC5321.MailFrom identity and the domain it checked. */
  spf: DmarcSpfInput;
  /** One entry per DKIM-Signature checked: result, d= and s=. */
  dkim: readonly DmarcDkimInput[];
}

const FROM_ERRORS: Record<FromDomainError, string> = {
  'no From': 'the message has no From address',
  'multiple From': 'the message has more than one From header field',
  'multiple addresses': 'the From header field names addresses in more than one domain',
  unparseable: 'the From header field is not a valid RFC 5322 mailbox list',
};

/** Verifies DMARC for one message. */
export async function verifyDmarc(input: VerifyDmarcInput, resolver: DnsResolver): Promise<DmarcEvaluation> {
  const from = extractFromDomain(input.fromHeaders);
  if (!from.ok) return fromFailure(from.reason);
  const facts = { fromDomain: from.domain, spf: input.spf, dkim: input.dkim };
  try {
    const session = createDmarcDnsSession(resolver);
    const policy = await discoverPolicy(from.domain, resolver, session);
    const organizationalDomains: Record<string, OrganizationalDomainLookup> = {};
    let needed = organizationalDomainsNeeded(facts, policy);
    if (needed[0] === from.domain) {
      // The From domain's first: it tells which identifiers can align at all.
      const fromOrg = await findOrganizationalDomain(from.domain, resolver, session);
      organizationalDomains[from.domain] = fromOrg;
      needed = fromOrg.kind === 'found' ? organizationalDomainsNeeded(facts, policy, fromOrg.organizationalDomain) : [];
    }
    const lookups = await Promise.all(needed.map((d) => findOrganizationalDomain(d, resolver, session)));
    for (const lookup of lookups) organizationalDomains[lookup.domain] = lookup;
    return evaluateDmarc(facts, { policy, organizationalDomains });
  } catch (err) {
    // The DnsResolver contract says query() never throws; one that does is treated as a DNS failure.
    const reason = `DNS resolver failed: ${err instanceof Error ? err.message : String(err)}`;
    return { ...empty(from.domain, null), result: 'temperror', appliedPolicy: null, reason };
  }
}

/**
 * §5.3.1: with no Author Domain, or several, "DMARC validation is not possible"; §11.5 warns
 * that such messages are a way around DMARC. Reported as permerror so that local policy (not
 * DMARC) decides, with `fromError` saying why.
 */
function fromFailure(error: FromDomainError): DmarcEvaluation {
  const reason = `${FROM_ERRORS[error]}: DMARC validation is not possible (RFC 9989 §5.3.1, §11.5)`;
  return { ...empty(null, error), result: 'permerror', appliedPolicy: null, reason };
}

const empty = blankEvaluationFacts;
