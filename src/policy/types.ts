/**
 * Policy: from the authentication facts to what the MX does with the message (STYLE 1: facts,
 * then verdict, then reply). Pure: `decide(input, localPolicy) → Verdict`. The SMTP reply is made
 * from the verdict at the pipeline's edge.
 */
import type { ArcResult } from '../auth/arc/types.js';
import type { DmarcEvaluation } from '../auth/dmarc/types.js';

/** What the MX does with a message. */
export type PolicyAction = 'deliver' | 'quarantine' | 'reject' | 'tempfail';

/** RFC 9990 PolicyOverrideType values Kagami records (sampled_out is never used: no pct). */
export type PolicyOverrideType = 'trusted_forwarder' | 'mailing_list' | 'local_policy';

export interface PolicyOverride {
  type: PolicyOverrideType;
  /** What matched, in words: "ARC sealer lists.example.org is trusted". */
  comment: string;
}

/** The facts policy judges. */
export interface PolicyInput {
  dmarc: DmarcEvaluation;
  arc: ArcResult;
  clientIp: string;
  /** The client's PTR name, only when forward-confirmed (its A/AAAA records include the client IP). */
  ptr: string | null;
  /** Domains that authenticated the message: passing DKIM d= and the SPF-passing MAIL FROM domain. */
  authenticatedDomains: readonly string[];
  /** The List-Id header field's value, if any (RFC 2919). */
  listId: string | null;
}

/** Local policy, from the [policy] section of the configuration. */
export interface LocalPolicy {
  /** true: act on the sender's policy; false: only record; "shadow": record what would have been done. */
  enforce: boolean | 'shadow';
  /** What a DMARC temperror (DNS trouble) does: tempfail (451, the default) or deliver. */
  onTemperror: 'tempfail' | 'deliver';
  /** ARC sealers (AS d= domains) whose passing chain is trusted to vouch for a forwarded message. */
  trustedArcSealers: readonly string[];
  /** Forwarders trusted not to spoof: IPs, CIDRs, or host names (the PTR name or a parent domain of it). */
  trustedForwarders: readonly string[];
  /** Mailing lists whose mail is accepted despite a DMARC fail: List-Id values or their domains. */
  mailingLists: readonly string[];
  /** Per author domain: always deliver mail that fails DMARC for it (a local_policy override). */
  exceptions: readonly string[];
  /** Shadow policy: what a stricter local policy would have done, recorded beside the real action. */
  shadow: {
    /** quarantine → reject. */
    quarantineAsReject: boolean;
    /** Treat t=y as if it were t=n. */
    ignoreTesting: boolean;
    /** Act on p=none as if it were quarantine. */
    enforceNone: boolean;
  };
}

/** The decision, with its reasons. */
export interface Verdict {
  action: PolicyAction;
  /** The reason in words, for the reply text, the log and the dashboard. */
  reason: string;
  /** The DMARC policy that applied, after tag selection and t=y (null when DMARC gave none). */
  appliedPolicy: 'none' | 'quarantine' | 'reject' | null;
  /** A local override that changed the action, if any. */
  override: PolicyOverride | null;
  /** What the shadow policy would have done, when it differs from the action; null otherwise. */
  shadow: { action: PolicyAction; reason: string } | null;
}
