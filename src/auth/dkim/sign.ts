/**
 * DKIM signing (RFC 6376 5, RFC 8463 3): returns the DKIM-Signature field to prepend, folded, with
 * its CRLF. The header and body hashes are computed exactly as `verifyDkim` computes them.
 */
import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { canonicalizeField, canonicalizeHeader, createBodyHasher } from './canonicalize.js';
import { splitMessage, type HeaderField } from '../../message/headers.js';
import { MIN_RSA_BITS } from './key.js';
import { withoutSignatureValue } from './signature.js';
import type { CanonicalizationPair, DkimAlgorithm } from './types.js';

export interface DkimSignOptions {
  /** `d=`, the signing domain (SDID). */
  domain: string;
  /** `s=`, the selector: the key is published at `selector._domainkey.domain`. */
  selector: string;
  /** The private key, as a KeyObject or PEM (PKCS#8, or PKCS#1 for RSA). */
  privateKey: KeyObject | string;
  algorithm: DkimAlgorithm;
  /** `c=`. Default `relaxed/relaxed`, which survives the rewrapping relays do. */
  canonicalization?: CanonicalizationPair;
  /**
   * `h=`, exactly as given (repeat a name to oversign it). Default: the names of
   * `DEFAULT_SIGNED_HEADERS` present in the message, each once per instance, plus one more for
   * those in `DEFAULT_OVERSIGNED_HEADERS` so that another instance cannot be added (RFC 6376 8.15).
   */
  headers?: string[];
  /** `i=`, the AUID; default none (it means `@` + domain). */
  identity?: string;
  /**
   * Adds `l=` with the canonical body's length (RFC 6376 3.4.5). Off by default and best left
   * off: anyone can then append text that the signature still covers (RFC 6376 8.2).
   */
  bodyLength?: boolean;
  /** Sets `x=` this many seconds after `t=`. */
  expiresInSeconds?: number;
  /** The clock for `t=`, seconds since the epoch. Default: system time. */
  now?: () => number;
}

/** RFC 6376 5.4.1: the fields that carry what a reader sees and what replies use. */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = [
  'from', 'sender', 'reply-to', 'subject', 'date', 'message-id', 'to', 'cc',
  'mime-version', 'content-type', 'content-transfer-encoding', 'content-id', 'content-description',
  'resent-date', 'resent-from', 'resent-sender', 'resent-to', 'resent-cc', 'resent-message-id',
  'in-reply-to', 'references',
  'list-id', 'list-help', 'list-unsubscribe', 'list-unsubscribe-post', 'list-subscribe', 'list-post', 'list-owner', 'list-archive',
];

/** Fields that must appear once: signed one time more than present (From always). */
export const DEFAULT_OVERSIGNED_HEADERS: readonly string[] = [
  'from', 'reply-to', 'subject', 'date', 'to', 'cc', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding',
];

const LINE = 78;

/** Signs a message; throws only for a misuse (wrong key type, weak key, bad domain). */
export function signDkim(message: Buffer, options: DkimSignOptions): string {
  const key = typeof options.privateKey === 'string' ? createPrivateKey(options.privateKey) : options.privateKey;
  checkKey(key, options.algorithm);
  const domain = options.domain.toLowerCase();
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(domain)) throw new Error(`signDkim: "${options.domain}" is not a domain name`);
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(options.selector)) throw new Error(`signDkim: "${options.selector}" is not a selector`);
  const [hc, bc] = (options.canonicalization ?? 'relaxed/relaxed').split('/') as ['simple' | 'relaxed', 'simple' | 'relaxed'];

  const { fields, body } = splitMessage(message);
  const headerKeys = options.headers?.map((h) => h.trim().toLowerCase()) ?? defaultHeaders(fields);
  if (!headerKeys.includes('from')) throw new Error('signDkim: h= must include From (RFC 6376 5.4)');

  const hasher = createBodyHasher(bc);
  hasher.update(body);
  const bodyDigest = hasher.digest();
  const bh = bodyDigest.hash.toString('base64');
  const t = Math.floor(options.now?.() ?? Date.now() / 1000);

  const tags = [`v=1`, `a=${options.algorithm}`, `c=${hc}/${bc}`, `d=${domain}`, `s=${options.selector}`];
  if (options.identity !== undefined) tags.push(`i=${options.identity}`);
  if (options.bodyLength) tags.push(`l=${bodyDigest.canonicalLength}`);
  tags.push(`t=${t}`);
  if (options.expiresInSeconds !== undefined) tags.push(`x=${t + Math.max(1, Math.floor(options.expiresInSeconds))}`);
  const unsigned = `${fold('DKIM-Signature: ', tags, headerKeys)}\r\n bh=${bh};\r\n b=`;

  // The same bytes the verifier hashes (RFC 6376 3.7): selected fields, then this field, b= empty.
  let data = selectFields(fields, headerKeys).map((f) => canonicalizeField(f, hc)).join('');
  const own = canonicalizeHeader(withoutSignatureValue(unsigned), hc);
  data += hc === 'relaxed' ? own.slice(0, -2) : own;
  const input = Buffer.from(data, 'latin1');
  const b =
    options.algorithm === 'rsa-sha256'
      ? cryptoSign('sha256', input, key)
      : cryptoSign(null, createHash('sha256').update(input).digest(), key); // RFC 8463 3
  return `${unsigned}${foldBase64(b.toString('base64'), ' b='.length)}\r\n`;
}

function checkKey(key: KeyObject, algorithm: DkimAlgorithm): void {
  if (key.type !== 'private') throw new Error('signDkim: privateKey is not a private key');
  const want = algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519';
  if (key.asymmetricKeyType !== want) throw new Error(`signDkim: a=${algorithm} needs an ${want} key, not ${key.asymmetricKeyType}`);
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (want === 'rsa' && (bits ?? 0) < MIN_RSA_BITS) throw new Error(`signDkim: a ${bits}-bit RSA key is too short (RFC 8301 3.2)`);
}

function defaultHeaders(fields: HeaderField[]): string[] {
  const count = new Map<string, number>();
  for (const f of fields) count.set(f.key, (count.get(f.key) ?? 0) + 1);
  const keys: string[] = [];
  for (const name of DEFAULT_SIGNED_HEADERS) {
    const n = (count.get(name) ?? 0) + (DEFAULT_OVERSIGNED_HEADERS.includes(name) && (count.has(name) || name === 'from') ? 1 : 0);
    for (let i = 0; i < n; i++) keys.push(name);
  }
  return keys;
}

/** RFC 6376 5.4.2: for each name, the next instance from the bottom. */
function selectFields(fields: HeaderField[], keys: string[]): HeaderField[] {
  const used = new Map<string, number>();
  const out: HeaderField[] = [];
  for (const name of keys) {
    const n = used.get(name) ?? 0;
    used.set(name, n + 1);
    const same = fields.filter((f) => f.key === name);
    const f = same[same.length - 1 - n];
    if (f) out.push(f);
  }
  return out;
}

/** Lays out `name: tag; tag; ... h=a:b:c;` within 78 columns, folding between tags and names. */
function fold(start: string, tags: string[], headerKeys: string[]): string {
  let out = start;
  let col = start.length;
  const put = (token: string, sep: string): void => {
    if (col + sep.length + token.length > LINE && col > 1) {
      out += '\r\n ';
      col = 1;
    } else {
      out += sep;
      col += sep.length;
    }
    out += token;
    col += token.length;
  };
  tags.forEach((t, i) => put(`${t};`, i === 0 ? '' : ' '));
  headerKeys.forEach((h, i) => put(i === 0 ? `h=${h}` : `:${h}`, i === 0 ? ' ' : ''));
  return `${out};`;
}

function foldBase64(b64: string, firstColumn: number): string {
  const parts: string[] = [];
  let width = LINE - firstColumn;
  for (let i = 0; i < b64.length; ) {
    parts.push(b64.slice(i, i + width));
    i += width;
    width = LINE - 1;
  }
  return parts.join('\r\n ');
}
