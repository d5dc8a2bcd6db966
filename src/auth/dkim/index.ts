/**
 * Kagami's DKIM (RFC 6376, RFC 8463 Ed25519, RFC 8301): verify, sign, generate keys. The public
 * surface for the pipeline and the CLI; the files behind it are the parts (parse → evaluate).
 */
export { verifyDkim, DEFAULT_CLOCK_SKEW_SECONDS, DEFAULT_MAX_SIGNATURES, type DkimVerifyOptions } from './verify.js';
export { signDkim, DEFAULT_OVERSIGNED_HEADERS, DEFAULT_SIGNED_HEADERS, type DkimSignOptions } from './sign.js';
export { generateDkimKey, type DkimGeneratedKey, type DkimKeygenOptions } from './keygen.js';
export {
  createKeyCache,
  keyCacheFor,
  parseDkimKeyRecord,
  MIN_RSA_BITS,
  type DkimKeyCache,
  type DkimKeyCacheOptions,
  type DkimKeyRecord,
  type KeyRecordParse,
} from './key.js';
export { parseDkimSignature, type DkimSignature, type SignatureParse } from './signature.js';
export { createBodyHasher, canonicalizeBody, type BodyHasher } from './canonicalize.js';
export type { CanonicalizationPair, DkimAlgorithm, DkimCode, DkimResult, DkimResultKind, DkimSignatureFacts } from './types.js';
