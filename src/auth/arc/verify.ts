/**
 * ARC chain validation (RFC 8617 5.2) through mailauth, in its strict mode (RFC 8617 and RFC 6376
 * syntax exactly; it passes 169 of the 171 ValiMail tests, the lenient mode 166).
 *
 * Entry point: mailauth's DkimVerifier, which reads the chain (`getARChain`, steps 1–3) and
 * verifies the newest ARC-Message-Signature while it hashes the body (step 4). A subclass keeps it
 * from verifying the DKIM-Signatures (Kagami has its own DKIM; each would cost a key lookup and an
 * RSA verify) and adds the older AMSs for the optional oldest-pass (step 5). The seals are then
 * checked with mailauth's `verifyASChain` (step 6). Kagami calls these steps itself rather than
 * `arc()`/`authenticate()` because those turn every error, a DNS timeout included, into `fail`.
 */
import { createRequire } from 'node:module';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { verifyASChain, type ARCChainEntry, type DKIMResult, type ParsedHeader } from 'mailauth';
import type { DnsResolver } from '../../dns/types.js';
import { isTemporaryDnsCode, toMailauthResolver, type MailauthResolver } from './resolver.js';
import type { ArcResult, ArcSealer, ArcSignatureResult } from './types.js';

export interface VerifyArcOptions {
  /** The time to validate at, in seconds since the epoch (AMS `x=` expiry); default now. */
  now?: number;
  /** RSA keys shorter than this fail (RFC 8301 3.2); default 1024, mailauth's default. */
  minRsaBits?: number;
}

/** Validates the ARC chain of a message. Never throws for protocol outcomes. */
/** Whether the header section has any ARC-* field; most mail has none, and then nothing is parsed. */
function hasArcFields(message: Buffer): boolean {
  const end = message.indexOf('\r\n\r\n');
  const head = message.toString('latin1', 0, end < 0 ? message.length : end);
  return /(^|\n)arc-/i.test(head);
}

export async function verifyArc(message: Buffer, resolver: DnsResolver, options: VerifyArcOptions = {}): Promise<ArcResult> {
  // Without ARC-* fields the chain is empty (RFC 8617 5.2 step 1); mailauth's parser would
  // still read the whole message, which costs more than all of DKIM on a 10 KB message.
  if (!hasArcFields(message)) return { result: 'none', reason: 'no ARC header fields' };
  const dns = toMailauthResolver(resolver);
  const verifier = new ArcOnlyVerifier({
    resolver: dns,
    strict: true,
    minBitLength: options.minRsaBits,
    curTime: options.now === undefined ? undefined : new Date(options.now * 1000),
  });
  verifier.end(message);
  await finished(verifier);
  return evaluateChain(verifier, dns, options.minRsaBits);
}

// ---- steps 1–6 over what the verifier collected ----

async function evaluateChain(verifier: ArcOnlyVerifier, dns: MailauthResolver, minRsaBits: number | undefined): Promise<ArcResult> {
  const arc = verifier.arc;
  if (arc.error !== undefined) {
    // Steps 2–3: the chain's structure is broken (missing or duplicate set, bad i=, cv= or tags).
    const failedInstance = instanceIn(arc.error.message);
    return { result: 'fail', reason: `ARC chain structure: ${arc.error.message}`, ...(failedInstance && { failedInstance }), sealers: [] };
  }
  const chain = arc.chain;
  if (!chain || chain.length === 0) return { result: 'none', reason: 'no ARC header fields' };

  const n = chain.length;
  const sealers = chain.map((entry): ArcSealer => describeSet(entry));

  // Step 4: the newest AMS must validate (the verifier checked it while reading the body).
  const newest = amsOutcome(chain[n - 1]!.messageSignature, chain[n - 1]!['arc-message-signature']);
  sealers[n - 1]!.amsResult = newest.result;
  if (newest.result === 'temperror') return { result: 'temperror', reason: `i=${n} ARC-Message-Signature: ${newest.reason}` };
  if (newest.result !== 'pass') {
    return { result: 'fail', reason: `i=${n} ARC-Message-Signature: ${newest.reason}`, failedInstance: n, sealers };
  }

  // Step 6: every seal, newest first; mailauth throws at the first that does not validate.
  try {
    // keyCache: the verifier's key lookups, so a key record shared by AMS and AS is fetched once.
    const options = { resolver: dns, strict: true, minBitLength: minRsaBits, keyCache: arc.keyCache };
    await verifyASChain({ chain }, options as Parameters<typeof verifyASChain>[1]);
  } catch (err) {
    const failed = failedSealInstance(err, chain);
    const temporary = classifyArcError(err) === 'temperror';
    for (const s of sealers) {
      if (failed === undefined || s.instance < failed) continue;
      s.asResult = s.instance > failed ? 'pass' : temporary ? 'temperror' : 'fail';
    }
    const reason = `ARC-Seal: ${describeError(err)}`;
    if (temporary) return { result: 'temperror', reason };
    return { result: 'fail', reason, ...(failed !== undefined && { failedInstance: failed }), sealers };
  }
  for (const s of sealers) s.asResult = 'pass';

  // Step 5 (optional): oldest-pass, validating AMS N-1 down to 1 and stopping at the first that
  // no longer validates (the message was changed after that sealer saw it).
  let oldest = n;
  while (oldest > 1) {
    const sealer = sealers[oldest - 2]!;
    sealer.amsResult = amsOutcome(await verifier.verifyOlderAms(chain[oldest - 2]!), chain[oldest - 2]!['arc-message-signature']).result;
    if (sealer.amsResult !== 'pass') break;
    oldest--;
  }
  const oldestPass = oldest === 1 ? 0 : oldest;
  const oldestPassingSealer = sealers[oldest - 1]!.domain;
  return {
    result: 'pass',
    instances: n,
    oldestPass,
    oldestPassingSealer,
    sealers,
    reason: `${n} ARC set${n === 1 ? '' : 's'} validated, oldest-pass=${oldestPass} (${oldestPassingSealer})`,
  };
}

/** temperror when a key could not be looked up for now; every other ARC failure is permanent. */
export function classifyArcError(err: unknown): 'temperror' | 'fail' {
  return isTemporaryDnsCode((err as { code?: unknown } | null)?.code) ? 'temperror' : 'fail';
}

interface AmsOutcome {
  result: ArcSignatureResult;
  reason: string;
}

function amsOutcome(signature: DKIMResult | undefined, header: AmsHeader): AmsOutcome {
  if (signature === undefined) return { result: 'fail', reason: `could not be processed (${header.skip ?? header.invalid ?? 'unknown'})` };
  const status = signature.status;
  // A policy result (a key under minRsaBits) has no comment, only the rule that applied.
  const detail = status.comment || Object.entries(status.policy ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(' ');
  const reason = detail ? `${status.result} (${detail})` : status.result;
  switch (status.result) {
    case 'pass':
      return { result: 'pass', reason };
    case 'temperror':
      return { result: 'temperror', reason };
    default:
      return { result: 'fail', reason };
  }
}

function describeSet(entry: VerifierChainEntry): ArcSealer {
  const seal = entry['arc-seal'].parsed;
  return {
    instance: entry.i,
    domain: String(seal?.d?.value ?? ''),
    selector: String(seal?.s?.value ?? ''),
    cv: String(seal?.cv?.value ?? '').trim().toLowerCase(),
    amsResult: 'unchecked',
    asResult: 'unchecked',
    authResults: aarPayload(entry['arc-authentication-results'].original),
  };
}

// RFC 8617 4.1.1: arc-info = instance [CFWS] ";" authres-payload; comments may appear as CFWS.
const CFWS = String.raw`(?:[ \t\r\n]|\([^()\\]*\))*`;
const AAR_INSTANCE = new RegExp(String.raw`^${CFWS}i${CFWS}=${CFWS}[0-9]{1,2}${CFWS};`);

/** The AAR value after `i=N;`, unfolded (RFC 5322 2.2.3) and trimmed. */
function aarPayload(original: Buffer | string | undefined): string {
  const line = (original ?? '').toString();
  const value = line.slice(line.indexOf(':') + 1);
  return value.replace(AAR_INSTANCE, '').replace(/\r?\n(?=[ \t])/g, '').trim();
}

/** The seal that verifyASChain stopped at: named in its message, or the newest seal using the failed key. */
function failedSealInstance(err: unknown, chain: VerifierChainEntry[]): number | undefined {
  const e = err as { message?: string; queryDomain?: string };
  if (e.queryDomain !== undefined) {
    const query = e.queryDomain.toLowerCase();
    for (let k = chain.length - 1; k >= 0; k--) {
      const seal = chain[k]!['arc-seal'].parsed;
      if (`${String(seal?.s?.value)}._domainkey.${String(seal?.d?.value)}`.toLowerCase() === query) return k + 1;
    }
  }
  return instanceIn(e.message ?? '');
}

function instanceIn(message: string): number | undefined {
  const m = /\bi=(\d{1,2})\b/.exec(message);
  return m ? Number(m[1]) : undefined;
}

function describeError(err: unknown): string {
  const e = err as { message?: string; code?: string; queryDomain?: string };
  const where = e.queryDomain ? ` (key ${e.queryDomain})` : '';
  return `${e.message ?? String(err)}${e.code ? ` [${e.code}]` : ''}${where}`;
}

// ---- the mailauth verifier, which ships no type declarations ----

/** An ARC-Message-Signature as mailauth's verifier annotates it. */
interface AmsHeader extends ParsedHeader {
  type?: 'ARC' | 'DKIM';
  skip?: string;
  invalid?: string;
  bodyCanon?: string;
  hashAlgo?: string;
  maxBodyLength?: number | '';
  bodyHashKey?: string;
}

interface VerifierChainEntry extends ARCChainEntry {
  'arc-seal': ParsedHeader;
  'arc-message-signature': AmsHeader;
  'arc-authentication-results': ParsedHeader & { original?: Buffer | string };
}

interface VerifierArc {
  chain: VerifierChainEntry[] | false;
  lastEntry?: VerifierChainEntry;
  error?: Error & { code?: string };
  /** The verifier's key lookups, reused by verifyASChain so one key record is fetched once. */
  keyCache?: unknown;
}

interface DkimVerifierLike extends Writable {
  arc: VerifierArc;
  prepareSignature(signatureHeader: AmsHeader): void;
  addBodyHash(bodyCanon: string | undefined, hashAlgo: string | undefined, maxBodyLength: number | '' | undefined): string;
  verifySignature(signatureHeader: AmsHeader): Promise<DKIMResult>;
  messageHeaders(headers: unknown): Promise<void>;
}

type DkimVerifierClass = new (options: Record<string, unknown>) => DkimVerifierLike;

const require = createRequire(import.meta.url);
const { DkimVerifier } = require('mailauth/lib/dkim/dkim-verifier.js') as { DkimVerifier: DkimVerifierClass };

/** mailauth's verifier restricted to ARC: DKIM-Signatures are skipped, older AMSs are hashed too. */
class ArcOnlyVerifier extends DkimVerifier {
  private readonly older = new Set<AmsHeader>();

  override prepareSignature(signatureHeader: AmsHeader): void {
    // Skipped signatures get no key lookup, no body hash and no crypto.
    if (signatureHeader.type === 'DKIM') signatureHeader.skip = 'DKIM is verified by Kagami, not here';
    else super.prepareSignature(signatureHeader);
  }

  override async messageHeaders(headers: unknown): Promise<void> {
    await super.messageHeaders(headers); // reads the chain; prepares the newest AMS
    const chain = this.arc.error === undefined ? this.arc.chain : false;
    if (!chain) return;
    // Step 5 needs every older AMS checked against this body; register their body hashes now.
    for (const entry of chain.slice(0, -1)) {
      const sig = entry['arc-message-signature'];
      sig.type = 'ARC';
      this.prepareSignature(sig);
      if (sig.skip === undefined && sig.invalid === undefined) {
        sig.bodyHashKey = this.addBodyHash(sig.bodyCanon, sig.hashAlgo, sig.maxBodyLength);
      }
      this.older.add(sig);
    }
  }

  /** Verifies an older AMS once the body has been read (its key lookup is cached like the others). */
  async verifyOlderAms(entry: VerifierChainEntry): Promise<DKIMResult | undefined> {
    const sig = entry['arc-message-signature'];
    if (!this.older.has(sig) || sig.skip !== undefined) return undefined;
    return this.verifySignature(sig);
  }
}
