/**
 * SPF at the SMTP edge: which identity to check (RFC 7208 2.3, 2.4) and check_host() on it.
 *
 * - MAIL FROM (2.4): <sender> is the reverse-path, <domain> its domain. A null reverse-path
 *   ("MAIL FROM:<>", bounces) uses "postmaster@" + the HELO name instead, and the HELO identity
 *   decides (RFC 7208 2.4; DMARC then uses the HELO domain for SPF).
 * - HELO (2.3, RECOMMENDED): check_host() on the HELO name as well, reported beside the result;
 *   skipped when the HELO name is an address literal or not a domain.
 */
import type { DnsResolver } from '../../dns/types.js';
import { checkHost, runCheckHost } from './evaluate.js';
import { domainProblem } from './names.js';
import type { CheckHostOptions, SpfIdentity, SpfResult } from './types.js';

export interface VerifySpfInput {
  /** The SMTP client's address. */
  ip: string;
  /** The MAIL FROM reverse-path, with or without angle brackets; "" or "<>" is the null path. */
  mailFrom: string;
  /** The HELO/EHLO argument. */
  helo: string;
}

export interface VerifySpfOptions extends CheckHostOptions {
  /** Also check the HELO identity when MAIL FROM decides (RFC 7208 2.3). Default true. */
  checkHelo?: boolean;
}

/** The deciding result, which identity it is for, and the separate HELO check. */
export type SpfVerification = SpfResult & {
  /** The identity the result is for: "helo" when the reverse-path is null (RFC 7208 2.4). */
  identity: SpfIdentity;
  /** The <sender> given to check_host(): the reverse-path, or "postmaster@" + HELO. */
  sender: string;
  /** The HELO identity's own result (RFC 7208 2.3), when it was checked separately. */
  heloResult?: SpfResult;
};

/** Runs SPF for one SMTP transaction. Never rejects for protocol outcomes (only for a non-address `ip`, a caller bug). */
export function verifySpf(input: VerifySpfInput, resolver: DnsResolver, options: VerifySpfOptions = {}): Promise<SpfVerification> {
  const reversePath = stripPath(input.mailFrom);
  const helo = input.helo.trim();
  if (reversePath === '') {
    const sender = `postmaster@${helo}`;
    return runCheckHost({ ip: input.ip, domain: helo, sender, helo }, resolver, options, { identity: 'helo', sender });
  }
  const at = reversePath.lastIndexOf('@');
  const domain = at >= 0 ? reversePath.slice(at + 1) : '';
  const mailFromCheck: Promise<SpfVerification> = runCheckHost(
    { ip: input.ip, domain, sender: reversePath, helo },
    resolver,
    options,
    { identity: 'mailfrom', sender: reversePath },
  );
  if (!(options.checkHelo ?? true) || domainProblem(helo) !== undefined) return mailFromCheck;
  // Both identities at once: their DNS work overlaps instead of adding up.
  const heloCheck = checkHost({ ip: input.ip, domain: helo, sender: `postmaster@${helo}`, helo }, resolver, options);
  return Promise.all([mailFromCheck, heloCheck]).then(([verification, heloResult]) => {
    verification.heloResult = heloResult;
    return verification;
  });
}

/** "<a@b>" → "a@b", "<@relay:a@b>" (RFC 5321 4.1.2 source route) → "a@b", "<>" → "". */
function stripPath(mailFrom: string): string {
  let path = mailFrom.trim();
  if (path.startsWith('<') && path.endsWith('>')) path = path.slice(1, -1);
  if (path.startsWith('@')) {
    const colon = path.indexOf(':');
    if (colon >= 0) path = path.slice(colon + 1);
  }
  return path;
}
