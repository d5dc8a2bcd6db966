/** importPaths: every bad input is recorded with its code and never stops the batch. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importMessageBytes, importPaths, splitMbox } from '../../../src/reports/ingest/files.js';
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

describe('importMessageBytes: failure reports by mail', () => {
  const arf = (domain: string, id: string) =>
    Buffer.from(
      [
        'From: dmarc@reporter.example',
        'To: dmarc@ours.example',
        `Message-ID: <${id}@reporter.example>`,
        'Date: Tue, 01 Dec 2026 12:00:00 +0000',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'A failure report.',
        '--b',
        'Content-Type: message/feedback-report',
        '',
        'Feedback-Type: auth-failure',
        'Version: 1',
        'Auth-Failure: dmarc',
        `Reported-Domain: ${domain}`,
        'Source-IP: 192.0.2.9',
        '',
        '--b',
        'Content-Type: text/rfc822-headers',
        '',
        `From: someone@${domain}`,
        'Subject: forged',
        '',
        '--b--',
        '',
      ].join('\r\n'),
    );

  it('stores one about our domain and refuses one about another with KGM-REPORT-FOREIGN', async () => {
    const store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
    const acceptDomain = (d: string) => d === 'ours.example';
    const ours = await importMessageBytes(arf('ours.example', 'a'), 'mail 1', { store, source: 'mail', acceptDomain });
    expect(ours.reports).toEqual([{ id: 'reporter.example!a@reporter.example', kind: 'failure', domain: 'ours.example', outcome: 'stored' }]);
    const foreign = await importMessageBytes(arf('elsewhere.example', 'b'), 'mail 2', { store, source: 'mail', acceptDomain });
    expect(foreign.reports).toEqual([]);
    expect(foreign.rejected).toMatchObject([{ code: 'KGM-REPORT-FOREIGN' }]);
    expect(foreign.rejected[0]!.reason).toContain('elsewhere.example');
    expect((await store.getReport('reporter.example!a@reporter.example'))!.failure).toMatchObject({ sourceIp: '192.0.2.9', subject: 'forged' });
    await store.close();
  });

  it('refuses a report mail larger than the bound, unread', async () => {
    const store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
    const big = Buffer.concat([arf('ours.example', 'c'), Buffer.alloc(5000, 0x61)]);
    const s = await importMessageBytes(big, 'mail 3', { store, source: 'imap', limits: { unpack: { maxDecompressedBytes: 4096 } } });
    expect(s.rejected).toMatchObject([{ code: 'KGM-REPORT-TOO-LARGE' }]);
    expect(await store.listReports()).toEqual([]);
    await store.close();
  });
});
