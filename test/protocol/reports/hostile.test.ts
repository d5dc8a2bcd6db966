/**
 * Hostile report files, generated here: each is refused with its code, quickly, and without
 * inflating. RSS is measured across the whole file and must stay under +300 MB.
 */
import { createDeflateRaw, createGzip, crc32, deflateRawSync, gzipSync } from 'node:zlib';
import type { Transform } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpackReport } from '../../../src/reports/ingest/decompress.js';
import { parseAggregateReport } from '../../../src/reports/model/parse-aggregate.js';

const MiB = 1024 * 1024;
const LIMIT = 50 * MiB;

/** Compresses `total` zero bytes through a zlib stream, 1 MiB at a time (never holds them all). */
async function compressZeros(make: () => Transform, total: number): Promise<{ bytes: Buffer; crc: number }> {
  const z = make();
  const chunks: Buffer[] = [];
  z.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => { z.on('end', resolve); z.on('error', reject); });
  const zero = Buffer.alloc(MiB);
  let crc = 0;
  for (let left = total; left > 0; left -= MiB) {
    const piece = left >= MiB ? zero : zero.subarray(0, left);
    crc = crc32(piece, crc);
    if (!z.write(piece)) await new Promise((r) => z.once('drain', r));
  }
  z.end();
  await done;
  return { bytes: Buffer.concat(chunks), crc };
}

interface ZipEntrySpec {
  name: string;
  /** Offset of the local header this central entry points at (for overlapping bombs). */
  localOffset: number;
  method: 0 | 8;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
}

function localHeader(e: Omit<ZipEntrySpec, 'localOffset'>): Buffer {
  const name = Buffer.from(e.name);
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(0, 6);
  h.writeUInt16LE(e.method, 8);
  h.writeUInt32LE(e.crc >>> 0, 14);
  h.writeUInt32LE(e.compressedSize, 18);
  h.writeUInt32LE(e.uncompressedSize, 22);
  h.writeUInt16LE(name.length, 26);
  return Buffer.concat([h, name]);
}

function centralHeader(e: ZipEntrySpec): Buffer {
  const name = Buffer.from(e.name);
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(20, 6);
  h.writeUInt16LE(e.method, 10);
  h.writeUInt32LE(e.crc >>> 0, 16);
  h.writeUInt32LE(e.compressedSize, 20);
  h.writeUInt32LE(e.uncompressedSize, 24);
  h.writeUInt16LE(name.length, 28);
  h.writeUInt32LE(e.localOffset, 42);
  return Buffer.concat([h, name]);
}

/** Local part + central directory + end records (zip64 ones when there are over 65535 entries). */
function finishZip(local: Buffer[], entries: ZipEntrySpec[]): Buffer {
  const body = Buffer.concat(local);
  const cd = Buffer.concat(entries.map(centralHeader));
  const zip64 = entries.length > 0xfffe;
  const tail: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(body.length), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(body.length + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : body.length, 16);
  return Buffer.concat([body, cd, ...tail, eocd]);
}

async function timed<T>(f: () => Promise<T> | T): Promise<{ out: T; ms: number }> {
  const t = performance.now();
  const out = await f();
  return { out, ms: performance.now() - t };
}

let rssBefore = 0;
beforeAll(() => {
  globalThis.gc?.();
  rssBefore = process.memoryUsage().rss;
});
afterAll(() => {
  globalThis.gc?.();
  const grown = process.memoryUsage().rss - rssBefore;
  console.info(`hostile reports: RSS grew ${(grown / MiB).toFixed(1)} MiB`);
  expect(grown).toBeLessThan(300 * 1e6);
});

describe('hostile compressed reports are refused, not inflated', () => {
  it('gzip of 200 MB of zeros with a 50 MiB budget: KGM-REPORT-BOMB, quickly', async () => {
    const { bytes } = await compressZeros(() => createGzip({ level: 9 }), 200 * 1e6);
    expect(bytes.length).toBeLessThan(400_000);
    const { out, ms } = await timed(() => unpackReport(bytes, 'bomb.xml.gz', { maxDecompressedBytes: LIMIT }));
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-BOMB' });
    expect(ms).toBeLessThan(2000);
  });

  it('gzip whose ISIZE lies (says 1 KB) is still stopped at the budget by maxOutputLength', async () => {
    const { bytes } = await compressZeros(() => createGzip({ level: 9 }), 100 * 1e6);
    bytes.writeUInt32LE(1000, bytes.length - 4);
    const out = await unpackReport(bytes, 'liar.gz', { maxDecompressedBytes: 10 * MiB });
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-BOMB' });
  });

  it('doubly gzipped bomb: the inner layer is bounded too', async () => {
    const inner = await compressZeros(() => createGzip({ level: 9 }), 100 * 1e6);
    const outer = gzipSync(inner.bytes);
    const out = await unpackReport(outer, 'x.xml.gz.gz', { maxDecompressedBytes: 10 * MiB });
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-BOMB' });
  });

  it('zip of overlapping entries (one deflate stream, 10 headers, 5 GiB declared): KGM-REPORT-BOMB', async () => {
    const size = 512 * MiB;
    const { bytes: data, crc } = await compressZeros(() => createDeflateRaw({ level: 9 }), size);
    const spec = { name: 'a.xml', method: 8 as const, crc, compressedSize: data.length, uncompressedSize: size };
    const local = [localHeader(spec), data];
    const entries = Array.from({ length: 10 }, (_, i) => ({ ...spec, localOffset: 0 }));
    expect(entries.reduce((s, e) => s + e.uncompressedSize, 0)).toBeGreaterThan(5e9);
    const { out, ms } = await timed(() => unpackReport(finishZip(local, entries), 'overlap.zip'));
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-BOMB' });
    expect(ms).toBeLessThan(1000);
  });

  it('small overlapping zip (sizes within budget) is still refused as a bomb', async () => {
    const raw = Buffer.from('<feedback/>');
    const data = deflateRawSync(raw);
    const spec = { name: 'r.xml', method: 8 as const, crc: crc32(raw), compressedSize: data.length, uncompressedSize: raw.length };
    const zip = finishZip([localHeader(spec), data], [0, 1, 2].map(() => ({ ...spec, localOffset: 0 })));
    expect(await unpackReport(zip, 'small-overlap.zip')).toMatchObject({ ok: false, code: 'KGM-REPORT-BOMB' });
  });

  it('zip with 100 000 stored members (zip64 directory): KGM-REPORT-ZIP, quickly', async () => {
    const local: Buffer[] = [];
    const entries: ZipEntrySpec[] = [];
    let offset = 0;
    const one = Buffer.from('x');
    const crc = crc32(one);
    for (let i = 0; i < 100_000; i++) {
      const spec = { name: `f${i}.xml`, method: 0 as const, crc, compressedSize: 1, uncompressedSize: 1 };
      const h = localHeader(spec);
      local.push(h, one);
      entries.push({ ...spec, localOffset: offset });
      offset += h.length + 1;
    }
    const { out, ms } = await timed(() => unpackReport(finishZip(local, entries), 'many.zip'));
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-ZIP' });
    expect(ms).toBeLessThan(1000);
  });

  it('zip member with a forged 2 GB declared size: KGM-REPORT-TOO-LARGE', async () => {
    const raw = Buffer.from('<feedback/>');
    const data = deflateRawSync(raw);
    const spec = { name: 'r.xml', method: 8 as const, crc: crc32(raw), compressedSize: data.length, uncompressedSize: 2 ** 31 };
    const zip = finishZip([localHeader(spec), data], [{ ...spec, localOffset: 0 }]);
    expect(await unpackReport(zip, 'forged.zip')).toMatchObject({ ok: false, code: 'KGM-REPORT-TOO-LARGE' });
  });

  it('zip member that declares 100 bytes but inflates to 100 MB: stopped while streaming', async () => {
    const { bytes: data, crc } = await compressZeros(() => createDeflateRaw({ level: 9 }), 100 * 1e6);
    const spec = { name: 'r.xml', method: 8 as const, crc, compressedSize: data.length, uncompressedSize: 100 };
    const zip = finishZip([localHeader(spec), data], [{ ...spec, localOffset: 0 }]);
    const { out, ms } = await timed(() => unpackReport(zip, 'liar.zip', { maxDecompressedBytes: 10 * MiB }));
    // yauzl's size check (validateEntrySizes) fires at byte 101, before our byte budget would.
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-ZIP' });
    expect(!out.ok && out.reason).toMatch(/too many bytes|size/i);
    expect(ms).toBeLessThan(1000);
  });

  it('a gzip with CRLF appended (Mimecast) is read, not taken for a bomb', async () => {
    const xml = Buffer.from('<feedback></feedback>');
    for (const tail of ['\r\n', '\n']) {
      const out = await unpackReport(Buffer.concat([gzipSync(xml), Buffer.from(tail)]), 'r.xml.gz');
      expect(out.ok && out.files[0]!.bytes.equals(xml)).toBe(true);
    }
  });

  it('plain input over the budget: KGM-REPORT-TOO-LARGE', async () => {
    const out = await unpackReport(Buffer.alloc(2048, 0x20), 'big.xml', { maxDecompressedBytes: 1024 });
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-TOO-LARGE' });
  });
});

describe('hostile XML is refused before the parser builds anything', () => {
  it('billion laughs: KGM-REPORT-XML', () => {
    const lol = [
      '<?xml version="1.0"?>',
      '<!DOCTYPE lolz [',
      ' <!ENTITY lol "lol">',
      ...Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
      ']>',
      '<feedback><report_metadata><org_name>&lol9;</org_name></report_metadata></feedback>',
    ].join('\n');
    const out = parseAggregateReport(lol);
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-XML' });
  });

  it('external entity (XXE): KGM-REPORT-XML', () => {
    const xxe = '<?xml version="1.0"?><!DOCTYPE feedback [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
      '<feedback><report_metadata><org_name>&xxe;</org_name></report_metadata></feedback>';
    expect(parseAggregateReport(Buffer.from(xxe))).toMatchObject({ ok: false, code: 'KGM-REPORT-XML' });
  });

  it('entity reference without a DOCTYPE stays literal text (never expanded)', () => {
    const xml = '<feedback><report_metadata><org_name>&xxe;&quot;</org_name><email>a@b</email><report_id>1</report_id>' +
      '<date_range><begin>1</begin><end>2</end></date_range></report_metadata>' +
      '<policy_published><domain>example.com</domain><p>none</p></policy_published></feedback>';
    const out = parseAggregateReport(xml);
    expect(out.ok && out.report.metadata.orgName).toBe('&xxe;"');
  });

  it('100 000-deep nesting: KGM-REPORT-XML, quickly', async () => {
    const deep = '<feedback>' + '<a>'.repeat(100_000) + '</a>'.repeat(100_000) + '</feedback>';
    const { out, ms } = await timed(() => parseAggregateReport(deep));
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-XML' });
    expect(ms).toBeLessThan(500);
  });

  it('more records than maxRecords: KGM-REPORT-TOO-LARGE', () => {
    const rec = '<record><row><source_ip>192.0.2.1</source_ip><count>1</count></row>' +
      '<identifiers><header_from>example.com</header_from></identifiers></record>';
    const xml = '<feedback><report_metadata><org_name>o</org_name><report_id>1</report_id>' +
      '<date_range><begin>1</begin><end>2</end></date_range></report_metadata>' +
      `<policy_published><domain>example.com</domain></policy_published>${rec.repeat(11)}</feedback>`;
    expect(parseAggregateReport(xml, { maxRecords: 10 })).toMatchObject({ ok: false, code: 'KGM-REPORT-TOO-LARGE' });
    expect(parseAggregateReport(xml, { maxRecords: 11 }).ok).toBe(true);
  });

  it('more bytes than maxBytes: KGM-REPORT-TOO-LARGE', () => {
    expect(parseAggregateReport(' '.repeat(2000), { maxBytes: 1000 })).toMatchObject({ ok: false, code: 'KGM-REPORT-TOO-LARGE' });
  });

  it('XML that is not a DMARC report: KGM-REPORT-NOT-DMARC', () => {
    expect(parseAggregateReport('<html><body/></html>')).toMatchObject({ ok: false, code: 'KGM-REPORT-NOT-DMARC' });
  });
});
