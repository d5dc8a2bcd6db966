/**
 * DKIM canonicalization (RFC 6376 3.4): header fields as latin1 strings, the body as a stream of
 * chunks fed to an incremental hasher. The body path is built to cost little more than SHA-256
 * itself: "simple" never copies, and "relaxed" falls back to a byte loop only for chunks that
 * hold a TAB, two spaces in a row or a space before CR (native `indexOf` decides).
 */
import { createHash, type Hash } from 'node:crypto';
import type { Canonicalization } from './types.js';

/** RFC 6376 3.4.1: the field exactly as it is, final CRLF included. */
export function canonicalizeHeaderSimple(raw: string): string {
  return raw;
}

/**
 * RFC 6376 3.4.2: name lowercased; folding CRLFs removed; every run of WSP made one SP; WSP at
 * the end of the value and around the colon removed; the field ends in CRLF. `lowercaseName`,
 * when the caller has it, is the name already lowercased without the WSP before the colon.
 */
export function canonicalizeHeaderRelaxed(raw: string, lowercaseName?: string): string {
  const colon = raw.indexOf(':');
  let name = lowercaseName;
  if (name === undefined) {
    let nameEnd = colon < 0 ? raw.length : colon;
    while (nameEnd > 0 && isWsp(raw.charCodeAt(nameEnd - 1))) nameEnd--;
    name = raw.slice(0, nameEnd).toLowerCase();
  }
  if (colon < 0) return name + ':\r\n';
  const end = raw.charCodeAt(raw.length - 1) === 0x0a && raw.charCodeAt(raw.length - 2) === 0x0d ? raw.length - 2 : raw.length;
  let value = raw.slice(colon + 1, end);
  // Plain one-line values (the common case) skip the regular expressions.
  if (value.indexOf('\r\n') >= 0) value = value.replace(/\r\n/g, '');
  if (value.indexOf('\t') >= 0 || value.indexOf('  ') >= 0) value = value.replace(/[ \t]+/g, ' ');
  return name + ':' + trimSp(value) + '\r\n';
}

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Removes one leading and one trailing SP (runs are already single SPs). */
function trimSp(v: string): string {
  const start = v.charCodeAt(0) === 0x20 ? 1 : 0;
  const end = v.length > start && v.charCodeAt(v.length - 1) === 0x20 ? v.length - 1 : v.length;
  return start === 0 && end === v.length ? v : v.slice(start, end);
}

export function canonicalizeHeader(raw: string, c: Canonicalization): string {
  return c === 'relaxed' ? canonicalizeHeaderRelaxed(raw) : raw;
}

/** A parsed field in canonical form; relaxed reuses the field's lowercased name. */
export function canonicalizeField(field: { raw: string; key: string }, c: Canonicalization): string {
  return c === 'relaxed' ? canonicalizeHeaderRelaxed(field.raw, field.key) : field.raw;
}

/** Where canonical body bytes go: a hash, or a collector in tests. */
export interface ByteSink {
  update(bytes: Uint8Array): unknown;
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HT = 0x09;
const CRLF = Buffer.from('\r\n', 'latin1');
const SPACE = Buffer.from(' ', 'latin1');
const BARE_CR = Buffer.from('\r', 'latin1');
const TWO_SPACES = Buffer.from('  ', 'latin1');
const SPACE_CR = Buffer.from(' \r', 'latin1');
const RELAXED_SLICE = 64 * 1024;

/**
 * Canonicalizes a body fed in chunks (RFC 6376 3.4.3, 3.4.4) and hands the bytes to a sink,
 * truncated to `limit` octets when the signature has `l=` (RFC 6376 3.4.5).
 *
 * Both algorithms drop trailing empty lines, so CRLFs are held back (`pendingCrlf`) until
 * something other than an empty line follows. "relaxed" also holds back a run of WSP
 * (`pendingWsp`): it becomes one SP before content, nothing before a line end.
 */
export class BodyCanonicalizer {
  /** Octets of the whole canonical body, `l=` or not (to check `l=` against, RFC 6376 6.1.3). */
  length = 0;
  private pendingCrlf = 0;
  private pendingWsp = false;
  private pendingCr = false;
  private wroteContent = false;
  private remaining: number;
  private done = false;
  private readonly canonicalization: Canonicalization;
  private readonly sink: ByteSink;

  constructor(canonicalization: Canonicalization, sink: ByteSink, limit?: number) {
    this.canonicalization = canonicalization;
    this.sink = sink;
    this.remaining = limit ?? Infinity;
  }

  update(chunk: Uint8Array): this {
    if (this.done) throw new Error('BodyCanonicalizer: update() after end()');
    if (chunk.length === 0) return this;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.canonicalization === 'simple') {
      this.feedVerbatim(buf);
      return this;
    }
    // Relaxed works in bounded slices: the scratch buffer stays small, and a base64 attachment
    // (no WSP to reduce) takes the fast path even if the text around it does not.
    for (let start = 0; start < buf.length; start += RELAXED_SLICE) {
      const slice = buf.subarray(start, Math.min(buf.length, start + RELAXED_SLICE));
      if (this.relaxedIsIdentity(slice)) this.feedVerbatim(slice);
      else this.feedRelaxed(slice);
    }
    return this;
  }

  /** Ends the body: adds the final CRLF where RFC 6376 3.4.3 / 3.4.4 want one. */
  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.pendingCr) {
      // A CR at the very end is a bare CR, i.e. content, and WSP before it is inner WSP.
      this.beforeContent();
      if (this.pendingWsp) this.write(SPACE);
      this.content(BARE_CR);
    }
    // Trailing WSP of an unterminated last line is dropped (relaxed); then one CRLF ends the
    // last line. An empty body is "" under relaxed and a single CRLF under simple.
    if (this.wroteContent || this.canonicalization === 'simple') this.write(CRLF);
  }

  /** A relaxed chunk canonicalizes to itself when it has no WSP to reduce or drop. */
  private relaxedIsIdentity(buf: Buffer): boolean {
    if (this.pendingWsp) return false;
    const last = buf[buf.length - 1];
    if (last === SP || last === HT) return false;
    return buf.indexOf(HT) < 0 && buf.indexOf(TWO_SPACES) < 0 && buf.indexOf(SPACE_CR) < 0;
  }

  /** Emits a chunk unchanged except for the trailing CRLFs, which are held back. */
  private feedVerbatim(buf: Buffer): void {
    let start = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (buf[0] === LF) {
        this.pendingCrlf++;
        start = 1;
      } else {
        this.content(BARE_CR);
      }
    }
    let end = buf.length;
    let tail = 0;
    const tailCr = end > start && buf[end - 1] === CR;
    if (tailCr) end--;
    while (end - start >= 2 && buf[end - 1] === LF && buf[end - 2] === CR) {
      end -= 2;
      tail++;
    }
    if (end > start) {
      this.content(buf.subarray(start, end));
      this.pendingCrlf = tail;
    } else {
      this.pendingCrlf += tail;
    }
    this.pendingCr = tailCr;
  }

  /**
   * The relaxed byte loop (RFC 6376 3.4.4). Output gathers in a scratch buffer; while CRLFs are
   * held back the scratch is empty, so writing them first keeps the order.
   */
  private feedRelaxed(buf: Buffer): void {
    const out = Buffer.allocUnsafe(buf.length + 2); // + a carried SP and a carried bare CR
    let n = 0;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === LF) {
          if (n > 0) this.content(out.subarray(0, n));
          n = 0;
          this.pendingWsp = false; // WSP at the end of a line is ignored
          this.pendingCrlf++;
          continue;
        }
        // A CR not followed by LF is an ordinary character; then `c` is handled below.
        this.beforeContent();
        if (this.pendingWsp) out[n++] = SP;
        this.pendingWsp = false;
        out[n++] = CR;
      }
      if (c === CR) {
        this.pendingCr = true;
      } else if (c === SP || c === HT) {
        this.pendingWsp = true;
      } else {
        this.beforeContent();
        if (this.pendingWsp) out[n++] = SP;
        this.pendingWsp = false;
        out[n++] = c;
      }
    }
    if (n > 0) this.content(out.subarray(0, n));
  }

  /** Writes the held-back CRLFs, which content now proves are not trailing. */
  private beforeContent(): void {
    while (this.pendingCrlf > 0) {
      this.write(CRLF);
      this.pendingCrlf--;
    }
  }

  private content(bytes: Uint8Array): void {
    this.beforeContent();
    this.wroteContent = true;
    this.write(bytes);
  }

  private write(bytes: Uint8Array): void {
    this.length += bytes.length;
    if (this.remaining <= 0) return;
    if (bytes.length <= this.remaining) {
      this.sink.update(bytes);
      this.remaining -= bytes.length;
    } else {
      this.sink.update(bytes.subarray(0, this.remaining));
      this.remaining = 0;
    }
  }
}

/** An incremental body hasher: feed chunks, then `digest()`. */
export interface BodyHasher {
  update(chunk: Uint8Array): void;
  /** The SHA-256 of the canonical (and `l=`-truncated) body, and the canonical length. */
  digest(): { hash: Buffer; canonicalLength: number };
}

export function createBodyHasher(c: Canonicalization, limit?: number): BodyHasher {
  const hash: Hash = createHash('sha256');
  const canon = new BodyCanonicalizer(c, hash, limit);
  return {
    update(chunk) {
      canon.update(chunk);
    },
    digest() {
      canon.end();
      return { hash: hash.digest(), canonicalLength: canon.length };
    },
  };
}

/** The canonical body as bytes (tests, tools); verification hashes without building it. */
export function canonicalizeBody(body: Uint8Array, c: Canonicalization, limit?: number): Buffer {
  const parts: Buffer[] = [];
  const canon = new BodyCanonicalizer(c, { update: (b) => parts.push(Buffer.from(b)) }, limit);
  canon.update(body);
  canon.end();
  return Buffer.concat(parts);
}

/**
 * The body digests of one message, each computed at most once per (canonicalization, l=) and
 * shared by every signature that asks for it.
 */
export class BodyDigests {
  private readonly memo = new Map<string, { hash: Buffer; canonicalLength: number }>();
  private readonly body: Buffer;

  constructor(body: Buffer) {
    this.body = body;
  }

  get(c: Canonicalization, limit?: number): { hash: Buffer; canonicalLength: number } {
    const id = limit === undefined ? c : `${c}:${limit}`;
    let digest = this.memo.get(id);
    if (digest === undefined && c === 'simple' && limit === undefined) {
      digest = simpleDigest(this.body);
      this.memo.set(id, digest);
    } else if (digest === undefined) {
      const hasher = createBodyHasher(c, limit);
      hasher.update(this.body);
      digest = hasher.digest();
      this.memo.set(id, digest);
    }
    return digest;
  }

  /**
   * Whether the canonical body hashes to `expected`. For relaxed without l=, the simple form is
   * tried first: it costs no more than SHA-256, and if it matches, the relaxed form matches too
   * (relaxed(simple(x)) = relaxed(x), and relaxed is idempotent, so simple(x) = relaxed(y)
   * implies relaxed(x) = relaxed(y)); only bodies with WSP to reduce pay for the byte loop.
   */
  matches(expected: Buffer, c: Canonicalization, limit?: number): boolean {
    if (c === 'relaxed' && limit === undefined && this.get('simple').hash.equals(expected)) return true;
    return this.get(c, limit).hash.equals(expected);
  }
}

/** "simple" over a whole body in one call: the body up to its trailing CRLFs, then one CRLF. */
function simpleDigest(body: Buffer): { hash: Buffer; canonicalLength: number } {
  let end = body.length;
  while (end >= 2 && body[end - 1] === LF && body[end - 2] === CR) end -= 2;
  const hash = createHash('sha256');
  if (end > 0) hash.update(end === body.length ? body : body.subarray(0, end));
  hash.update(CRLF);
  return { hash: hash.digest(), canonicalLength: end + 2 };
}
