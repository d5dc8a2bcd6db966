/**
 * Unpacking of DMARC aggregate report files (RFC 7489 §7.2.1.1, RFC 9990 §5: gzip or zip,
 * or plain XML). Every path is bounded: total inflated bytes, inflation ratio and zip member
 * count. Bombs are refused, never inflated past the budget (DESIGN.md §3).
 */
import { gunzip, gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';

const gunzipAsync = promisify(gunzip);

export interface UnpackLimits {
  /** Most bytes all inflated output together may hold. Default 50 MiB. */
  maxDecompressedBytes: number;
  /** Most inflated bytes per compressed byte, checked once output passes 1 MiB. Default 1000. */
  maxRatio: number;
  /** Most members a zip may hold. Default 20. */
  maxMembers: number;
}

export const DEFAULT_UNPACK_LIMITS: Readonly<UnpackLimits> = Object.freeze({
  maxDecompressedBytes: 50 * 1024 * 1024,
  maxRatio: 1000,
  maxMembers: 20,
});

export type UnpackCode = 'KGM-REPORT-TOO-LARGE' | 'KGM-REPORT-BOMB' | 'KGM-REPORT-ZIP';

/** One file found in a report: its name (member name, or the outer name less .gz) and bytes. */
export interface UnpackedFile {
  name: string;
  bytes: Buffer;
}

export type UnpackResult =
  | { ok: true; files: UnpackedFile[] }
  | { ok: false; code: UnpackCode; reason: string };

/** Small outputs may have large ratios (a page of zeros); the ratio check starts here. */
const RATIO_FLOOR = 1024 * 1024;
/**
 * A gzip this small (compressed) and declaring at most SYNC_OUTPUT bytes is inflated on the
 * calling thread: a typical report (1–2 KB of gzip) inflates in tens of microseconds, less than
 * the round trip through the thread pool costs; larger ones go there and leave the event loop free.
 */
const SYNC_INPUT = 64 * 1024;
const SYNC_OUTPUT = 1024 * 1024;
/** gzip inside gzip (seen in the wild) is unwrapped this many times at most. */
const MAX_NESTING = 3;

const refuse = (code: UnpackCode, reason: string): UnpackResult => ({ ok: false, code, reason });

export function isGzip(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

export function isZip(bytes: Buffer): boolean {
  return bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;
}

/** Detects gzip / zip / plain and returns the files inside, or a coded refusal. Never throws. */
export async function unpackReport(
  bytes: Buffer,
  name: string,
  limits: Partial<UnpackLimits> = {},
): Promise<UnpackResult> {
  const l: UnpackLimits = { ...DEFAULT_UNPACK_LIMITS, ...limits };
  try {
    return await unpackAt(bytes, name, l, 0);
  } catch (err) {
    return refuse('KGM-REPORT-ZIP', `unpacking failed: ${(err as Error).message}`);
  }
}

async function unpackAt(bytes: Buffer, name: string, l: UnpackLimits, depth: number): Promise<UnpackResult> {
  if (bytes.length > l.maxDecompressedBytes) {
    return refuse('KGM-REPORT-TOO-LARGE', `${name}: ${bytes.length} bytes exceeds ${l.maxDecompressedBytes}`);
  }
  if (isGzip(bytes)) {
    if (depth >= MAX_NESTING) return refuse('KGM-REPORT-ZIP', `${name}: gzip nested more than ${MAX_NESTING} deep`);
    const inner = await gunzipBounded(trimLineEnd(bytes, l), name, l);
    if (!inner.ok) return inner;
    return unpackAt(inner.bytes, name.replace(/\.gz$/i, ''), l, depth + 1);
  }
  if (isZip(bytes)) {
    if (depth >= MAX_NESTING) return refuse('KGM-REPORT-ZIP', `${name}: zip nested more than ${MAX_NESTING} deep`);
    return unzipBounded(bytes, name, l);
  }
  return { ok: true, files: [{ name, bytes }] };
}

/**
 * Some senders (Mimecast, seen in the wild) append CRLF to a gzip attachment; the trailer's ISIZE
 * then reads as 167 MB or more. When the declared size is over budget and the bytes end in a line
 * end, the line end is dropped (a true gzip that large is refused by the budget either way).
 */
function trimLineEnd(bytes: Buffer, l: UnpackLimits): Buffer {
  if (bytes.length < 20 || bytes[bytes.length - 1] !== 0x0a) return bytes;
  if (bytes.readUInt32LE(bytes.length - 4) <= l.maxDecompressedBytes) return bytes;
  return bytes.subarray(0, bytes.length - (bytes[bytes.length - 2] === 0x0d ? 2 : 1));
}

async function gunzipBounded(
  bytes: Buffer,
  name: string,
  l: UnpackLimits,
): Promise<{ ok: true; bytes: Buffer } | { ok: false; code: UnpackCode; reason: string }> {
  // RFC 1952 §2.3.1: ISIZE is the input size mod 2^32. Forgeable, but a cheap early refusal.
  const isize = bytes.length >= 18 ? bytes.readUInt32LE(bytes.length - 4) : 0;
  if (isize > l.maxDecompressedBytes && isize / bytes.length > l.maxRatio) {
    return { ok: false, code: 'KGM-REPORT-BOMB', reason: `${name}: gzip declares ${isize} bytes from ${bytes.length}` };
  }
  let out: Buffer;
  try {
    const inline = bytes.length <= SYNC_INPUT && isize <= SYNC_OUTPUT;
    // ISIZE is forgeable, so the inline path has its own cap: past it, the thread pool inflates.
    out = inline
      ? gunzipSmall(bytes, l.maxDecompressedBytes) ?? (await gunzipAsync(bytes, { maxOutputLength: l.maxDecompressedBytes + 1 }))
      : await gunzipAsync(bytes, { maxOutputLength: l.maxDecompressedBytes + 1 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      return { ok: false, code: 'KGM-REPORT-BOMB', reason: `${name}: gzip inflates past ${l.maxDecompressedBytes} bytes` };
    }
    return { ok: false, code: 'KGM-REPORT-ZIP', reason: `${name}: gzip is damaged: ${e.message}` };
  }
  if (out.length > l.maxDecompressedBytes) {
    return { ok: false, code: 'KGM-REPORT-BOMB', reason: `${name}: gzip inflates past ${l.maxDecompressedBytes} bytes` };
  }
  if (out.length > RATIO_FLOOR && out.length / bytes.length > l.maxRatio) {
    return { ok: false, code: 'KGM-REPORT-BOMB', reason: `${name}: gzip ratio ${Math.round(out.length / bytes.length)} exceeds ${l.maxRatio}` };
  }
  return { ok: true, bytes: out };
}

/** Inflates on this thread up to SYNC_OUTPUT bytes; null when the output would be larger. Throws on damage. */
function gunzipSmall(bytes: Buffer, max: number): Buffer | null {
  try {
    return gunzipSync(bytes, { maxOutputLength: Math.min(SYNC_OUTPUT, max + 1) });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) return null;
    throw err;
  }
}

function openZip(bytes: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (err, zf) =>
      err || !zf ? reject(err ?? new Error('no zip')) : resolve(zf),
    );
  });
}

/** Reads central-directory entries only (no inflation), refusing more than maxMembers. */
function listEntries(zf: ZipFile, max: number): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zf.on('entry', (e: Entry) => {
      entries.push(e);
      if (entries.length > max) {
        zf.close();
        reject(new TooMany());
        return;
      }
      zf.readEntry();
    });
    zf.on('end', () => resolve(entries));
    zf.on('error', reject);
    zf.readEntry();
  });
}

class TooMany extends Error {}
class OverBudget extends Error {}

async function unzipBounded(bytes: Buffer, name: string, l: UnpackLimits): Promise<UnpackResult> {
  let zf: ZipFile;
  try {
    zf = await openZip(bytes);
  } catch (err) {
    return refuse('KGM-REPORT-ZIP', `${name}: zip is damaged: ${(err as Error).message}`);
  }
  if (zf.entryCount > l.maxMembers) {
    zf.close();
    return refuse('KGM-REPORT-ZIP', `${name}: zip has ${zf.entryCount} members, more than ${l.maxMembers}`);
  }
  let entries: Entry[];
  try {
    entries = await listEntries(zf, l.maxMembers);
  } catch (err) {
    if (err instanceof TooMany) return refuse('KGM-REPORT-ZIP', `${name}: zip has more than ${l.maxMembers} members`);
    return refuse('KGM-REPORT-ZIP', `${name}: zip is damaged: ${(err as Error).message}`);
  }
  const files = entries.filter((e) => !e.fileName.endsWith('/'));
  // Overlapping entries (one deflate stream named by many headers) are the classic
  // non-recursive zip bomb; no honest zip has them.
  const spans = files
    .map((e) => ({ start: e.relativeOffsetOfLocalHeader, end: e.relativeOffsetOfLocalHeader + 30 + e.compressedSize }))
    .sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]!.start < spans[i - 1]!.end) {
      zf.close();
      return refuse('KGM-REPORT-BOMB', `${name}: zip members overlap (offset ${spans[i]!.start})`);
    }
  }
  let declared = 0;
  for (const e of files) {
    declared += e.uncompressedSize;
    if (declared > l.maxDecompressedBytes) {
      zf.close();
      return refuse('KGM-REPORT-TOO-LARGE', `${name}: zip declares ${declared}+ bytes, more than ${l.maxDecompressedBytes}`);
    }
    if (e.uncompressedSize > RATIO_FLOOR && e.uncompressedSize / Math.max(1, e.compressedSize) > l.maxRatio) {
      zf.close();
      return refuse('KGM-REPORT-BOMB', `${name}: member ${e.fileName} declares ratio above ${l.maxRatio}`);
    }
  }
  const out: UnpackedFile[] = [];
  const budget = { left: l.maxDecompressedBytes };
  try {
    for (const e of files) {
      if (e.isEncrypted()) throw new Error(`member ${e.fileName} is encrypted`);
      const data = await readEntry(zf, e, budget);
      if (data.length > RATIO_FLOOR && data.length / Math.max(1, e.compressedSize) > l.maxRatio) {
        return refuse('KGM-REPORT-BOMB', `${name}: member ${e.fileName} inflates above ratio ${l.maxRatio}`);
      }
      out.push({ name: e.fileName === '' ? name.replace(/\.zip$/i, '') : e.fileName, bytes: data });
    }
  } catch (err) {
    if (err instanceof OverBudget) return refuse('KGM-REPORT-BOMB', `${name}: zip inflates past ${l.maxDecompressedBytes} bytes`);
    return refuse('KGM-REPORT-ZIP', `${name}: ${(err as Error).message}`);
  } finally {
    zf.close();
  }
  return { ok: true, files: out };
}

/** Streams one member, counting actual inflated bytes against the shared budget. */
function readEntry(zf: ZipFile, e: Entry, budget: { left: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zf.openReadStream(e, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error('no stream'));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        budget.left -= c.length;
        if (budget.left < 0) {
          stream.destroy();
          reject(new OverBudget());
          return;
        }
        chunks.push(c);
      });
      stream.on('error', reject);
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}
