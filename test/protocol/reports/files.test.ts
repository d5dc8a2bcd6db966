/** importPaths: every bad input is recorded with its code and never stops the batch. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importPaths, splitMbox } from '../../../src/reports/ingest/files.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import { tempDir } from '../../support/server.js';

const XML = `<?xml version="1.0"?><feedback><report_metadata><org_name>r.example</org_name><email>d@r.example</email>
<report_id>ID1</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>
<policy_published><domain>example.org</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.1</source_ip>
<count>2</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>
<identifiers><header_from>example.org</header_from></identifiers><auth_results><spf><domain>example.org</domain><result>fail</result></spf></auth_results></record></feedback>`;

describe('importPaths', () => {
  it('stores good reports and records each bad input with its code, going on past them', async () => {
    const dir = tempDir('kagami-files-');
    mkdirSync(path.join(dir, 'sub'));
    writeFileSync(path.join(dir, 'good.xml.gz'), gzipSync(XML));
    writeFileSync(path.join(dir, 'sub', 'bomb.xml.gz'), gzipSync(Buffer.alloc(4 * 1024 * 1024)));
    writeFileSync(path.join(dir, 'sub', 'not-tls.json'), '{"hello": 1}');
    writeFileSync(path.join(dir, 'sub', 'notdmarc.xml'), '<html></html>');
    writeFileSync(path.join(dir, 'README.md'), 'not taken by a directory walk');
    const store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
    const progress: number[] = [];
    const s = await importPaths([dir], { store, limits: { unpack: { maxDecompressedBytes: 1024 * 1024 } }, onProgress: (done) => progress.push(done) });
    expect(s).toMatchObject({ files: 4, stored: 1, duplicates: 0 });
    expect(progress).toEqual([1, 2, 3, 4]);
    expect(s.rejected.map((r) => [path.basename(r.name), r.code]).sort()).toEqual([
      ['bomb.xml.gz', 'KGM-REPORT-BOMB'],
      ['not-tls.json', 'KGM-REPORT-TLSRPT'],
      ['notdmarc.xml', 'KGM-REPORT-NOT-DMARC'],
    ]);
    expect(await store.listRejectedInputs()).toHaveLength(3);
    const again = await importPaths([dir], { store, limits: { unpack: { maxDecompressedBytes: 1024 * 1024 } } });
    expect(again).toMatchObject({ stored: 0, duplicates: 1 });
    expect(await store.listRejectedInputs()).toHaveLength(3);
    expect((await store.getReport('r.example!ID1'))!.aggregateRecords).toHaveLength(1);
    const missing = await importPaths([path.join(dir, 'nope.xml')], { store });
    expect(missing.rejected[0]!.code).toBe('KGM-REPORT-NO-REPORT');
    await store.close();
  });

  it('splits an mbox on From lines and unquotes >From', () => {
    const parts = splitMbox(Buffer.from('From a@b Thu Dec  3 10:00:00 2026\nSubject: 1\n\n>From here\nFrom c@d Thu Dec  3 10:00:00 2026\nSubject: 2\n\nx\n'));
    expect(parts.map((p) => p.toString())).toEqual(['Subject: 1\n\nFrom here\n', 'Subject: 2\n\nx\n']);
  });
});
