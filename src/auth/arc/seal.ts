/**
 * ARC sealing (RFC 8617 5.1) through mailauth's `createSeal`, in its strict mode: one new ARC Set
 * (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results) with the next instance.
 */
import { createSeal } from 'mailauth';
import type { DnsResolver } from '../../dns/types.js';
import type { ArcChainValidation } from './types.js';
import { verifyArc } from './verify.js';

export interface SealArcOptions {
  /** The sealing ADMD's domain: ARC-Seal and ARC-Message-Signature `d=`. */
  domain: string;
  /** The key selector `s=`; the public key is published at `<selector>._domainkey.<domain>`. */
  selector: string;
  /** The private key, PEM (PKCS#8 or PKCS#1). */
  privateKey: string;
  /** RFC 8617 4.1.3 defines rsa-sha256 only. */
  algorithm?: 'rsa-sha256';
  /** Our authserv-id (RFC 8601 2.5), the first item of the ARC-Authentication-Results payload. */
  authservId: string;
  /**
   * The result entries of our Authentication-Results (`spf=pass smtp.mailfrom=…; dkim=…; arc=…`),
   * copied into the AAR (RFC 8617 4.1.1). A value that already starts with `<authservId>;` is
   * taken as the whole payload; an empty one becomes `none` (RFC 8601 2.2 no-result).
   */
  authResults: string;
  /**
   * The chain validation status for `cv=` (RFC 8617 4.1.3, 5.1.1). By default it is derived by
   * validating the message's chain with `resolver`: none → none, pass → pass, fail → fail.
   */
  cv?: ArcChainValidation;
  /** Signing time `t=` in seconds since the epoch; default now. */
  now?: number;
}

/** Why no ARC Set was produced. */
export class ArcSealError extends Error {
  constructor(
    /**
     * `temperror` (the chain could not be validated for now: retry, or deliver unsealed),
     * or mailauth's refusal code: `EARCCHAINFAILED` (the newest seal already says cv=fail, RFC 8617
     * 5.1 step 2), `EINVALIDINSTANCE` (50 sets already), `EINVALIDCV`, `EINVALIDALGO`, a key error.
     */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ArcSealError';
  }
}

/**
 * Seals a message: returns the three header fields to prepend, each ending in CRLF, newest first
 * (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results). Throws ArcSealError when mailauth
 * refuses to seal or `cv` cannot be derived for now.
 */
export async function sealArc(message: Buffer, options: SealArcOptions, resolver: DnsResolver): Promise<string> {
  const cv = options.cv ?? (await deriveCv(message, resolver, options.now));
  const signTime = options.now === undefined ? new Date() : new Date(options.now * 1000);
  const { headers, errors } = await createSeal(message, {
    seal: {
      signingDomain: options.domain,
      selector: options.selector,
      privateKey: options.privateKey,
      algorithm: options.algorithm ?? 'rsa-sha256',
      cv,
      authResults: aarPayload(options.authservId, options.authResults),
      signTime,
    },
    strict: true,
  });
  if (headers.length === 0) {
    const first = errors[0]?.err;
    throw new ArcSealError(first?.code ?? 'ESEAL', `ARC set not created: ${first?.message ?? 'no reason given'}`);
  }
  return headers.map((h) => `${h.replace(/\r?\n$/, '')}\r\n`).join('');
}

/** RFC 8617 5.1.1: cv= is the result of validating the chain as it arrived. */
async function deriveCv(message: Buffer, resolver: DnsResolver, now: number | undefined): Promise<ArcChainValidation> {
  const result = await verifyArc(message, resolver, now === undefined ? {} : { now });
  switch (result.result) {
    case 'none':
    case 'pass':
    case 'fail':
      return result.result;
    case 'temperror':
      throw new ArcSealError('temperror', `cannot derive cv=: ${result.reason}`);
    default: {
      const never: never = result;
      throw new Error(`unexpected ARC result ${JSON.stringify(never)}`);
    }
  }
}

function aarPayload(authservId: string, authResults: string): string {
  const results = authResults.trim();
  if (results.toLowerCase().startsWith(`${authservId.toLowerCase()};`)) return results;
  return `${authservId}; ${results === '' ? 'none' : results}`;
}
