/**
 * The shortcuts of the bulk import path (bench/ingest) keep the guarantees of the slow one:
 * the tag scan that replaced the parser's validating pass still refuses malformed XML, small
 * gzip inflated on the calling thread is bounded like the rest, and reports written a batch per
 * transaction are each atomic, stored once, and all in the store when importPaths returns.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import Sqlite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { importPaths } from '../../../src/reports/ingest/files.js';
import { unpackReport } from '../../../src/reports/ingest/decompress.js';
import { parseAggregateReport } from '../../../src/reports/model/parse-aggregate.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { tempDir } from '../../support/server.js';

const report = (id: string, body = '') =>
  `<?xml version="1.0"?><feedback><report_metadata><org_name>r.example</org_name><email>d@r.example</email>` +
  `<report_id>${id}</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>` +
  `<policy_published><domain>example.org</domain><p>none</p></policy_published>${body}` +
  `<record><row><source_ip>192.0.2.1</source_ip><count>2</count><policy_evaluated><disposition>none</disposition>` +
  `<dkim>pass</dkim><spf>fail</spf></policy_evaluated></row><identifiers><header_from>example.org</header_from></identifiers>` +
  `<auth_results><spf><domain>example.org</domain><result>fail</result></spf></auth_results></record></feedback>`;

describe('parseAggregateReport: well-formedness without the validating pass', () => {
  it.each([
    ['an end tag that closes another element', report('1').replace('</email>', '</mail>'), '</mail> closes <email>'],
    ['an element never closed', report('1').replace('</feedback>', ''), '<feedback> is never closed'],
    ['an end tag with nothing open', `${report('1')}</feedback>`, 'closes nothing'],
    ['a start tag that is not a name (parsedmarc invalid_xml)', report('1').replace('d@r.example', '<bad-xml@bad-xml.net>'), 'is not a tag name'],
    ['a tag without its ">"', report('1').replace('</feedback>', '</feedback'), 'unterminated tag'],
    ['an unterminated comment', report('1').replace('<policy_published>', '<!-- <policy_published>'), 'unterminated comment'],
  ])('refuses %s: KGM-REPORT-XML', (_what, xml, reason) => {
    const out = parseAggregateReport(xml);
    expect(out).toMatchObject({ ok: false, code: 'KGM-REPORT-XML' });
    expect(!out.ok && out.reason).toContain(reason);
  });

  it('accepts what well-formed XML may hold: prefixes, empty elements, comments, CDATA, spaces before ">"', () => {
    const xml = report('2', '<!-- a <comment> --><extra a="1"/><note ><![CDATA[<not a tag>]]></note >')
      .replace('<feedback>', '<dmarc:feedback xmlns:dmarc="urn:ietf:params:xml:ns:dmarc-2.0">')
      .replace('</feedback>', '</dmarc:feedback>');
    const out = parseAggregateReport(xml);
    expect(out.ok && out.report.metadata.reportId).toBe('2');
    expect(out.ok && out.report.records).toHaveLength(1);
  });
});

describe('unpackReport: small gzip inflated inline', () => {
  it('gives the same bytes as the thread-pool path, and a damaged one is KGM-REPORT-ZIP', async () => {
    const xml = Buffer.from(report('3'));
    const out = await unpackReport(gzipSync(xml), 'r.xml.gz');
    expect(out.ok && out.files[0]!.bytes.equals(xml)).toBe(true);
    const damaged = gzipSync(xml);
    damaged[damaged.length - 12]! ^= 0xff;
    expect(await unpackReport(damaged, 'r.xml.gz')).toMatchObject({ ok: false, code: 'KGM-REPORT-ZIP' });
  });

  it('a small gzip that inflates past the budget (ISIZE lying) is a bomb, not an allocation', async () => {
    const gz = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(gz.length).toBeLessThan(64 * 1024);
    gz.writeUInt32LE(100, gz.length - 4); // declares 100 bytes
    expect(await unpackReport(gz, 'r.xml.gz', { maxDecompressedBytes: 2 * 1024 * 1024 })).toMatchObject({ ok: false, code: 'KGM-REPORT-BOMB' });
  });
});

describe('importPaths: a transaction per batch of files', () => {
  it('stores every report once; a second import finds them all duplicates; a fresh connection sees them', async () => {
    const dir = tempDir('kagami-bulk-');
    const n = 203; // two full batches and a partial one
    for (let i = 0; i < n; i++) writeFileSync(path.join(dir, `r${String(i).padStart(4, '0')}.xml.gz`), gzipSync(report(`B${i}`)));
    writeFileSync(path.join(dir, 'r0100-again.xml.gz'), gzipSync(report('B100'))); // a duplicate inside a batch
    writeFileSync(path.join(dir, 'r0101-bad.xml'), '<feedback>'); // a rejected input inside a batch
    const file = path.join(tempDir('kagami-bulk-db-'), 'kagami.db');
    const store = openSqliteStore({ file });
    await store.migrate();
    const first = await importPaths([dir], { store });
    expect(first).toMatchObject({ files: n + 2, stored: n, duplicates: 1 });
    expect(first.rejected.map((r) => r.code)).toEqual(['KGM-REPORT-XML']);
    // Another connection (as a CLI command beside `kagami serve` would open) reads the commits.
    const other = new Sqlite(file, { readonly: true });
    expect(other.prepare("SELECT count(*) AS n FROM reports WHERE kind = 'aggregate'").get()).toEqual({ n });
    expect(other.prepare('SELECT count(*) AS n FROM report_records').get()).toEqual({ n });
    expect(other.prepare('SELECT count(*) AS n FROM rejected_inputs').get()).toEqual({ n: 1 });
    other.close();
    expect(await importPaths([dir], { store })).toMatchObject({ stored: 0, duplicates: n + 1 });
    await store.close();
  });
});

describe('Store.batch', () => {
  const parsed = (id: string) => {
    const out = parseAggregateReport(report(id));
    if (!out.ok) throw new Error(out.reason);
    return out.report;
  };

  it('a report whose rows fail is undone alone; the batch commits the others', async () => {
    const store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
    const broken = parsed('B');
    // source_ip is NOT NULL: the record insert fails after the report row went in.
    broken.records.push({ ...broken.records[0]!, sourceIp: null as unknown as string });
    await store.batch(async (s) => {
      expect(await s.storeAggregateReport(parsed('A'), Buffer.from('a'), 'file')).toBe('stored');
      await expect(s.storeAggregateReport(broken, Buffer.from('b'), 'file')).rejects.toThrow();
      expect(await s.storeAggregateReport(parsed('C'), Buffer.from('c'), 'file')).toBe('stored');
      expect(await s.storeAggregateReport(parsed('C'), Buffer.from('c'), 'file')).toBe('duplicate');
    });
    expect((await store.listReports()).map((r) => r.reportId).sort()).toEqual(['A', 'C']);
    expect(await store.getReport('r.example!B')).toBeNull();
    await store.close();
  });

  it('work that throws rolls the whole batch back', async () => {
    const store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
    await expect(
      store.batch(async (s) => {
        await s.storeAggregateReport(parsed('A'), Buffer.from('a'), 'file');
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    expect(await store.listReports()).toEqual([]);
    await store.close();
  });
});
