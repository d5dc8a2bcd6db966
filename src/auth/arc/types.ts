/**
 * ARC (RFC 8617) results. Validation and sealing are done by mailauth (DESIGN.md §3: ARC is
 * being wound down and is not worth owning); these types are what the rest of Kagami sees.
 *
 * An ARC Set is three header fields with the same instance `i=` (RFC 8617 4.1):
 * ARC-Authentication-Results (AAR: what the sealer's ADMD concluded), ARC-Message-Signature
 * (AMS: a DKIM-like signature over the message as the sealer saw it) and ARC-Seal (AS: a
 * signature over all the ARC header fields so far, which makes the chain tamper-evident).
 */

/**
 * The outcome of one signature (AMS or AS) of one ARC Set.
 * - `pass` / `fail`: validated / did not validate (bad signature, body hash, key record, syntax).
 * - `temperror`: its key could not be looked up (DNS temporary failure).
 * - `unchecked`: not evaluated, because an earlier step already decided the chain (RFC 8617 5.2
 *   stops at the first failure).
 */
export type ArcSignatureResult = 'pass' | 'fail' | 'temperror' | 'unchecked';

/** One ARC Set of a chain, as far as validation got. */
export interface ArcSealer {
  /** The instance `i=` (1 is the first ADMD that sealed, the highest is the newest). */
  instance: number;
  /** The ARC-Seal `d=`: the domain of the ADMD that sealed this set. */
  domain: string;
  /** The ARC-Seal `s=`: its key selector (`<s>._domainkey.<d>`). */
  selector: string;
  /** The ARC-Seal `cv=` as written, lowercased: what this sealer found for the chain before it. */
  cv: string;
  /**
   * This set's ARC-Message-Signature. The newest one decides the chain (RFC 8617 5.2 step 4);
   * the older ones are checked for the oldest-pass value (step 5) and only say whether the
   * message is still as that sealer saw it.
   */
  amsResult: ArcSignatureResult;
  /** This set's ARC-Seal (RFC 8617 5.2 step 6, checked from the newest to the oldest). */
  asResult: ArcSignatureResult;
  /**
   * The ARC-Authentication-Results payload: what follows `i=N;`, unfolded, otherwise raw
   * (`authserv-id; resinfo; ...`, RFC 8617 4.1.1, RFC 8601 2.2). Trust it only as far as the
   * sealer named by `domain` is trusted.
   */
  authResults: string;
}

export type ArcResult =
  /** No ARC header fields (RFC 8617 5.2 step 1: cv=none). */
  | { result: 'none'; reason: string }
  | {
      result: 'pass';
      /** The number of ARC Sets, N (the newest instance). */
      instances: number;
      /**
       * RFC 8617 5.2 step 5, "oldest-pass": validating each AMS from N-1 down to 1, the lowest
       * instance whose AMS (and every newer one) still validates, or 0 when all of them do.
       * Reported as `arc.oldest-pass` / `header.oldest-pass` in Authentication-Results.
       */
      oldestPass: number;
      /**
       * The ARC-Seal `d=` of the oldest set whose AMS still validates, i.e. of instance
       * `max(oldestPass, 1)`: the earliest sealer that saw the message exactly as it is now.
       * Never null for a pass (the newest AMS always validates then); mailauth does not
       * expose oldest-pass, so Kagami validates the older AMSs itself through mailauth's verifier.
       */
      oldestPassingSealer: string;
      /** Every set, oldest first (`sealers[0].instance === 1`). */
      sealers: ArcSealer[];
      reason: string;
    }
  | {
      result: 'fail';
      reason: string;
      /** The instance whose AMS or AS failed, when the failure is tied to one set. */
      failedInstance?: number;
      /** The sets as far as validation got, oldest first; empty when the chain could not be read. */
      sealers: ArcSealer[];
    }
  /** A key could not be looked up (DNS temporary failure): try again later, never a pass. */
  | { result: 'temperror'; reason: string };

/** The chain validation status written into the `cv=` of a new ARC-Seal (RFC 8617 4.1.3). */
export type ArcChainValidation = 'none' | 'pass' | 'fail';
