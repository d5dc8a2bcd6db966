/**
 * Kagami's SPF (RFC 7208). `verifySpf` at the SMTP edge (which identity, RFC 7208 2.3/2.4);
 * `checkHost` for check_host() itself; `parseSpfRecord` / `selectSpfRecord` for tools that
 * read records without evaluating them; `classifyDnsAnswer` is the one DnsAnswer → SPF mapping.
 */
export { verifySpf, type SpfVerification, type VerifySpfInput, type VerifySpfOptions } from './verify.js';
export { checkHost } from './evaluate.js';
export { parseSpfRecord, selectSpfRecord, isSpfRecord, type SpfSelection } from './parse.js';
export { classifyDnsAnswer, type SpfDnsVerdict, type SpfLookupPurpose } from './dns.js';
export * from './types.js';
