/**
 * DKIM results (RFC 6376, RFC 8463, RFC 8301), one per DKIM-Signature field. The values of
 * `result` are the RFC 8601 2.7.1 `dkim` method results, so Authentication-Results, DMARC and the
 * RFC 9990 report rows all speak the same words.
 */

/** Signing algorithms Kagami verifies and signs (RFC 6376 3.3, RFC 8463 3). */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** One of the two canonicalization algorithms (RFC 6376 3.4). */
export type Canonicalization = 'simple' | 'relaxed';

/** The `c=` tag, header part then body part. */
export type CanonicalizationPair = `${Canonicalization}/${Canonicalization}`;

/** Why a signature got its result: stable for code and tests; `reason` says it in words. */
export type DkimCode =
  | 'verified'
  // fail: the signature was checked and did not hold, or is unacceptable (RFC 8301)
  | 'body-hash-mismatch'
  | 'signature-mismatch'
  | 'sha1-not-acceptable'
  | 'key-too-short'
  // permerror: the signature or its key cannot be used (RFC 6376 6.1.1, 6.1.2)
  | 'signature-syntax'
  | 'missing-tag'
  | 'bad-version'
  | 'unsupported-algorithm'
  | 'bad-canonicalization'
  | 'bad-query-method'
  | 'identity-mismatch'
  | 'from-not-signed'
  | 'expired'
  | 'timestamp-in-future'
  | 'expiry-before-timestamp'
  | 'body-length-exceeds-body'
  | 'no-key'
  | 'key-syntax'
  | 'key-revoked'
  | 'key-type-mismatch'
  | 'key-hash-mismatch'
  | 'key-service-mismatch'
  | 'key-strict-identity'
  | 'key-invalid'
  // temperror: the key could not be fetched now (RFC 6376 6.1.2)
  | 'dns-tempfail'
  // policy: not evaluated by local choice
  | 'too-many-signatures';

/** What a DKIM-Signature field says about itself, whatever the result. */
export interface DkimSignatureFacts {
  /** `d=`, the SDID, lowercased; '' when the field has none. */
  domain: string;
  /** `s=`; '' when the field has none. */
  selector: string;
  /** `a=` as written (e.g. `rsa-sha256`, or `rsa-sha1` which is refused). */
  algorithm: string;
  /** `c=` in its full form (`relaxed/simple`); as written if it is not valid. */
  canonicalization: string;
  /** `h=`, the signed header field names in order, as written. */
  headerFields: string[];
  /** `i=`, the AUID (defaults to `@` + `d=`, RFC 6376 3.5). */
  identity?: string;
  /** `b=`, the signature in base64 without whitespace (RFC 6008 `header.b`). */
  signature?: string;
  /** `t=`, seconds since the epoch. */
  signedAt?: number;
  /** `x=`, seconds since the epoch. */
  expiresAt?: number;
  /** `l=` is present: only a prefix of the body is signed, so text can be appended (RFC 6376 8.2). */
  bodyLengthLimited?: boolean;
  /** Size of the public key in bits (RSA modulus; 256 for Ed25519). */
  keyBits?: number;
  /** The key record has `t=y`: the domain is testing DKIM (RFC 6376 3.6.1). */
  testing?: boolean;
}

/** The outcome for one DKIM-Signature field. */
export type DkimResult =
  | (DkimSignatureFacts & { result: 'pass'; code: 'verified'; reason: string; keyBits: number })
  | (DkimSignatureFacts & { result: 'fail'; code: DkimCode; reason: string })
  | (DkimSignatureFacts & { result: 'permerror'; code: DkimCode; reason: string })
  | (DkimSignatureFacts & { result: 'temperror'; code: 'dns-tempfail'; reason: string })
  | (DkimSignatureFacts & { result: 'policy'; code: DkimCode; reason: string })
  /** RFC 8601 vocabulary; Kagami's verifier does not produce it per signature. */
  | (DkimSignatureFacts & { result: 'neutral'; code: DkimCode; reason: string })
  /**
   * RFC 8601 vocabulary for "the message is not signed": `verifyDkim` returns `[]` for such a
   * message, and the Authentication-Results builder writes `dkim=none`.
   */
  | (DkimSignatureFacts & { result: 'none'; code: DkimCode; reason: string });

export type DkimResultKind = DkimResult['result'];
