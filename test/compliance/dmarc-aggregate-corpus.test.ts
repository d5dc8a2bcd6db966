/**
 * Every DMARC aggregate report in the shared corpus is either parsed or refused with a code;
 * none throws. A sample is checked against values read from the files by hand.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unpackReport } from '../../src/reports/ingest/decompress.js';
import { parseAggregateReport } from '../../src/reports/model/parse-aggregate.js';
import { importMessageBytes } from '../../src/reports/ingest/files.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { AggregateReport, ParseWarning } from '../../src/reports/model/aggregate.js';

const ROOT = '/work/shared/corpus/dmarc-aggregate';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const all = walk(ROOT).map((p) => relative(ROOT, p)).sort();
const reports = all.filter((f) => /\.(xml|xml\.gz|gz|zip)$/i.test(f));
const mails = all.filter((f) => f.endsWith('.eml'));

type Outcome =
  | { ok: true; report: AggregateReport; warnings: ParseWarning[] }
  | { ok: false; code: string; reason: string };

async function load(file: string): Promise<Outcome> {
  const unpacked = await unpackReport(readFileSync(join(ROOT, file)), basename(file));
  if (!unpacked.ok) return unpacked;
  expect(unpacked.files).toHaveLength(1);
  return parseAggregateReport(unpacked.files[0]!.bytes);
}

async function parsed(file: string): Promise<{ report: AggregateReport; warnings: ParseWarning[] }> {
  const out = await load(file);
  if (!out.ok) throw new Error(`${file} refused: ${out.code} ${out.reason}`);
  return out;
}

describe('dmarc-aggregate corpus: every file is parsed or refused with a code', () => {
  it('finds the corpus', () => {
    expect(reports.length).toBeGreaterThanOrEqual(50);
  });
  it.each(reports)('%s', async (file) => {
    const out = await load(file);
    if (out.ok) expect(out.report.metadata.reportId).not.toBe('');
    else expect(out.code).toMatch(/^KGM-REPORT-/);
  });
  it('tallies parsed / refused', async () => {
    let ok = 0;
    const refused: string[] = [];
    for (const f of reports) {
      const out = await load(f);
      if (out.ok) ok++;
      else refused.push(`${f}: ${out.code}`);
    }
    console.info(`dmarc-aggregate corpus: ${ok} parsed, ${refused.length} refused\n  ${refused.join('\n  ')}`);
    expect(refused).toEqual(['parsedmarc/invalid/empty.xml: KGM-REPORT-XML', 'parsedmarc/invalid_xml.xml: KGM-REPORT-XML']);
  });
});

describe('dmarc-aggregate corpus: values read by hand', () => {
  it('cry-inc/outlook.xml: two records, envelope_to, no namespace', async () => {
    const { report, warnings } = await parsed('cry-inc/outlook.xml');
    expect(report.schema).toBe('rfc7489');
    expect(report.metadata).toMatchObject({ orgName: 'Outlook.com', reportId: 'a4f4ef0654474d3faa5dca167a34a86a' });
    expect(report.policy).toMatchObject({ domain: 'random.net', p: 'reject' });
    expect(report.records).toHaveLength(2);
    expect(report.records[1]).toMatchObject({
      sourceIp: '1.2.3.4', count: 2, disposition: 'none', dkim: 'pass', spf: 'pass',
      envelopeTo: 'outlook.de', envelopeFrom: 'random.net', headerFrom: 'random.net',
    });
    expect(warnings).toEqual([]);
  });

  it('cry-inc/gmxnet.xml: RFC 9990 namespace', async () => {
    const { report } = await parsed('cry-inc/gmxnet.xml');
    expect(report.schema).toBe('rfc9990');
    expect(report.metadata).toMatchObject({ orgName: 'GMX', reportId: '6d2be94cbabf4e838a3cf58fb4a42ab5' });
    expect(report.policy).toMatchObject({ domain: 'myserver.com', p: 'reject' });
    expect(report.records).toHaveLength(1);
    expect(report.records[0]).toMatchObject({
      sourceIp: '11.222.33.44', count: 1,
      dkimResults: [{ domain: 'myserver.com', selector: 'abc123', result: 'pass' }],
      spfResults: [{ domain: 'myserver.com', scope: 'mfrom', result: 'pass' }],
    });
  });

  it('cry-inc/mailru.xml: single line, no envelope_from', async () => {
    const { report } = await parsed('cry-inc/mailru.xml');
    expect(report.metadata).toMatchObject({ orgName: 'Mail.Ru', reportId: '28327321193681154911721360800' });
    expect(report.policy).toMatchObject({ domain: 'foobar.de', p: 'reject' });
    expect(report.records).toHaveLength(1);
    expect(report.records[0]).toMatchObject({ sourceIp: '118.41.204.2', count: 1, disposition: 'reject', dkim: 'fail', spf: 'fail' });
    expect(report.records[0]!.envelopeFrom).toBeUndefined();
    expect(report.records[0]!.spfResults).toEqual([{ domain: 'foobar.de', scope: 'mfrom', result: 'softfail' }]);
  });

  it('cry-inc/hardfail.xml: "hardfail" read as fail, with a warning', async () => {
    const { report, warnings } = await parsed('cry-inc/hardfail.xml');
    expect(report.metadata).toMatchObject({ orgName: 'reporting org', reportId: 'abcdef' });
    expect(report.policy).toMatchObject({ domain: 'mydomain.org', p: 'quarantine' });
    expect(report.records[0]).toMatchObject({ sourceIp: '42.42.42.42', count: 1, disposition: 'quarantine' });
    expect(report.records[0]!.spfResults[0]!.result).toBe('fail');
    expect(warnings.map((w) => w.path)).toEqual(['record[0]/auth_results/spf[0]/result']);
  });

  it('dmarcgo amazonses .xml.gz: gzip, version 0.1', async () => {
    const { report } = await parsed('dmarcgo/amazonses.com!georgestarcher.com!1518134400!1518220800.xml.gz');
    expect(report.version).toBe('0.1');
    expect(report.metadata).toMatchObject({
      orgName: 'AMAZON-SES', reportId: '072b67ad-a2bd-4ee2-bbb3-533ca391825f', begin: 1518134400, end: 1518220800,
    });
    expect(report.policy).toMatchObject({ domain: 'georgestarcher.com', p: 'reject' });
    expect(report.records).toHaveLength(1);
    expect(report.records[0]).toMatchObject({ sourceIp: '209.85.214.46', count: 1, dkim: 'pass', spf: 'pass' });
  });

  it('dmarcgo aol .zip: zip member', async () => {
    const { report } = await parsed('dmarcgo/aol.com!georgestarcher.com!1342497600!1342584000.zip');
    expect(report.metadata).toMatchObject({ orgName: 'AOL', reportId: 'georgestarcher.com_1342584000' });
    expect(report.policy).toMatchObject({ domain: 'georgestarcher.com', p: 'reject' });
    expect(report.records[0]).toMatchObject({ sourceIp: '209.85.216.42', count: 1, disposition: 'none' });
  });

  it('mail-dmarc zip whose member has an empty name', async () => {
    const { report } = await parsed('mail-dmarc/test_dmarc.xml.zip');
    expect(report.metadata).toMatchObject({ orgName: 'Test Sender', reportId: '1234567890' });
    expect(report.policy).toMatchObject({ domain: 'example.com', p: 'none' });
    expect(report.records[0]).toMatchObject({ sourceIp: '1.2.3.4', count: 1 });
  });

  it('parsedmarc nice-input: .xml, .gz and .zip give the same report of 20 records', async () => {
    const plain = await parsed('parsedmarc/extract_report/nice-input.xml');
    expect(plain.report.metadata).toMatchObject({ orgName: 'google.com', reportId: '11038226378739404135' });
    expect(plain.report.policy).toMatchObject({ domain: 'example.com', p: 'none', np: 'none' });
    expect(plain.report.records).toHaveLength(20);
    expect(plain.report.records[0]).toMatchObject({ sourceIp: '209.85.220.69', count: 1, dkim: 'fail', spf: 'pass' });
    expect((await parsed('parsedmarc/extract_report/nice-input.xml.gz')).report).toEqual(plain.report);
    expect((await parsed('parsedmarc/extract_report/nice-input.xml.zip')).report).toEqual(plain.report);
  });

  it('parsedmarc large report: 2286 records, empty org_name warned', async () => {
    const { report, warnings } = await parsed('parsedmarc/!large-example.com!1711897200!1711983600.xml');
    expect(report.metadata).toMatchObject({ orgName: '', reportId: 'example.com:1711897200' });
    expect(report.records).toHaveLength(2286);
    expect(report.records[0]).toMatchObject({ sourceIp: '12.20.121.1', count: 1 });
    expect(warnings.map((w) => w.message)).toContain('empty org_name');
  });

  it('parsedmarc ikea: unclosed <xs:schema> wrapper stripped with a warning', async () => {
    const { report, warnings } = await parsed('parsedmarc/ikea.com!example.de!1538690400!1538776800.xml');
    expect(report.metadata).toMatchObject({ orgName: 'ikea.com', reportId: 'aggr_report_2018_10_05_5bc7e9b4f3e8a' });
    expect(report.policy).toMatchObject({ domain: 'example.de', p: 'none', pct: 100, fo: '0' });
    expect(report.records[0]).toMatchObject({ sourceIp: '234.234.234.234', count: 1 });
    expect(warnings).toHaveLength(1);
  });

  it('parsedmarc rfc9990-sample: namespace, np, testing, discovery_method, generator, disposition pass', async () => {
    const { report } = await parsed('parsedmarc/rfc9990-sample.xml');
    expect(report.schema).toBe('rfc9990');
    expect(report.metadata).toMatchObject({
      orgName: 'Sample Reporter', reportId: '3v98abbp8ya9n3va8yr8oa3ya', begin: 302832000, end: 302918399,
      generator: 'Example DMARC Aggregate Reporter v1.2',
    });
    expect(report.policy).toEqual({
      domain: 'example.com', p: 'quarantine', sp: 'none', np: 'none', testing: 'n', discoveryMethod: 'treewalk',
    });
    expect(report.records[0]).toMatchObject({ sourceIp: '192.0.2.123', count: 123, disposition: 'pass', dkim: 'pass', spf: 'fail' });
  });

  it('stalwart 003.xml: tabs, 4 records, trusted_forwarder reasons', async () => {
    const { report } = await parsed('stalwart-mail-auth/003.xml');
    expect(report.metadata).toMatchObject({ orgName: 'Fastmail Pty Ltd', reportId: '758848224' });
    expect(report.policy).toMatchObject({ domain: 'stalw.art', p: 'none' });
    expect(report.records).toHaveLength(4);
    expect(report.records[1]).toMatchObject({
      sourceIp: '173.228.157.66', count: 4, dkim: 'fail', spf: 'fail',
      envelopeFrom: 'jmap.bounce.topicbox.com',
    });
    expect(report.records[0]!.reasons).toEqual([{ type: 'trusted_forwarder', comment: 'Policy ignored due to local white list' }]);
  });

  it('tierpod doubly gzipped: trailing space in <end> tolerated', async () => {
    const { report } = await parsed('tierpod/test.xml.gz.gz');
    expect(report.metadata).toMatchObject({ orgName: 'Test Inc.', reportId: '1.id.0', end: 1524268799 });
    expect(report.policy).toMatchObject({ domain: 'test.net', p: 'none' });
    expect(report.records).toHaveLength(2);
    expect(report.records[1]).toMatchObject({ sourceIp: '10.1.1.1', count: 2 });
    expect(report.records[1]!.spfResults.map((s) => s.result)).toEqual(['softfail']);
  });
});

describe('dmarc-aggregate corpus: MALFORMED files (decided per file)', () => {
  it('invalid/empty.xml is refused', async () => {
    expect(await load('parsedmarc/invalid/empty.xml')).toMatchObject({ ok: false, code: 'KGM-REPORT-XML' });
  });
  it('invalid_xml.xml (an unescaped <address>) is refused', async () => {
    expect(await load('parsedmarc/invalid_xml.xml')).toMatchObject({ ok: false, code: 'KGM-REPORT-XML' });
  });
  it('invalid_utf_8.xml is parsed: the bad byte becomes U+FFFD, with a warning', async () => {
    const { report, warnings } = await parsed('parsedmarc/invalid_utf_8.xml');
    expect(report.records[0]!.headerFrom).toBe('bad_byte\uFFFD');
    expect(warnings.map((w) => w.message)).toContain('invalid UTF-8; bad bytes replaced with U+FFFD');
  });
  it('upper-cased "Pass"/"None" are normalised, each with a warning', async () => {
    const { report, warnings } = await parsed('parsedmarc/invalid/report_with_upper_cased_pass.xml');
    expect(report.metadata.orgName).toBe('example.com');
    expect(report.records[0]).toMatchObject({ disposition: 'none', dkim: 'pass', spf: 'pass' });
    expect(warnings.length).toBeGreaterThanOrEqual(5);
  });
  it('historical/invalid_casing.xml: every SPF casing normalised, HardFail read as fail', async () => {
    const { report, warnings } = await parsed('cry-inc/historical/invalid_casing.xml');
    expect(report.records[0]!.spfResults.map((s) => s.result)).toEqual(
      expect.arrayContaining(['none', 'neutral', 'pass', 'fail', 'softfail', 'temperror', 'permerror']),
    );
    expect(report.records[0]!.spfResults.some((s) => s.result === 'unknown')).toBe(false);
    expect(warnings.length).toBeGreaterThan(0);
  });
});

/**
 * The report mails go through the intake a mail to dmarc@ takes (importMessageBytes) into a real
 * SQLite store. Expected org, report id, domain and begin were read from the attachments with
 * Python's email, zlib and zipfile modules, independently of mailparser (mimecast-weird-gzip.eml
 * carries two bytes of CRLF after its gzip member, which Python's gzip module refuses).
 */
describe('dmarc-aggregate corpus: report e-mails', () => {
  const expected: Record<string, { id: string; domain: string; begin: number; records: number }> = {
    'parsedmarc/Report_domain-_borschow.com_Submitter-_google.com_Report-ID-_949348866075514174.eml': { id: 'google.com!949348866075514174', domain: 'borschow.com', begin: 1549929600, records: 1 },
    'parsedmarc/mimecast-weird-gzip.eml': { id: 'Mimecast!157a5fe30ec76f4bc0d8bccfc96c118a167a1280fee7c7465af5115e73082e5e', domain: 'ab.id.au', begin: 1693353600, records: 1 },
    'parsedmarc/twilight.eml': { id: 'google.com!1627703331531660819', domain: 'twlnet.com', begin: 1549756800, records: 1 },
    'stalwart-mail-auth/100.eml': { id: 'google.com!5264580628977113351', domain: 'stalw.art', begin: 1669507200, records: 1 },
    'stalwart-mail-auth/101.eml': { id: '"backschues.NET!stalw.art.1667948400.1668034800', domain: 'stalw.art', begin: 1667948400, records: 1 },
    'stalwart-mail-auth/102.eml': { id: 'Mail.Ru!28551467700969547611667865600', domain: 'stalw.art', begin: 1667865600, records: 1 },
    'stalwart-mail-auth/103.eml': { id: 'Outlook.com!725cbfbe133940149987cfc528387235', domain: 'stalw.art', begin: 1666483200, records: 1 },
    'stalwart-mail-auth/104.eml': { id: 'AMAZON-SES!6b06c366-0631-4ca0-8337-f5aecf137918', domain: 'stalw.art', begin: 1663545600, records: 1 },
  };
  it('knows every report mail of the corpus', () => {
    expect(mails.sort()).toEqual(Object.keys(expected).sort());
  });
  it.each(mails)('%s: the report attachment is found, parsed and stored', async (m) => {
    const store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
    try {
      const summary = await importMessageBytes(readFileSync(join(ROOT, m)), m, { store, source: 'mail' });
      expect(summary.rejected).toEqual([]);
      const want = expected[m]!;
      expect(summary.reports).toEqual([{ id: want.id, kind: 'aggregate', domain: want.domain, outcome: 'stored' }]);
      const stored = await store.getReport(want.id);
      expect(stored).toMatchObject({ kind: 'aggregate', domain: want.domain, source: 'mail' });
      expect(stored!.begin).toBe(want.begin);
      expect(stored!.aggregateRecords).toHaveLength(want.records);
    } finally {
      await store.close();
    }
  });
});
