/**
 * Every mail in shared/corpus/dmarc-forensic/ is either stored as a DMARC failure report
 * (RFC 9991 / RFC 6591) or refused with a code; none stops the batch. Each goes through the
 * intake a mail to our report address takes (importMessageBytes) into a real SQLite store; the
 * expected values were read from the files by hand (the Netease feedback part after base64
 * decoding).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importMessageBytes, importPaths } from '../../src/reports/ingest/files.js';
import type { FailureReport } from '../../src/reports/model/failure.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';

const ROOT = '/work/shared/corpus/dmarc-forensic';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const mails = walk(ROOT)
  .filter((p) => p.endsWith('.eml'))
  .map((p) => relative(ROOT, p))
  .sort();

type Expected =
  | { stored: string; report: Partial<FailureReport>; original?: { subject: string | null; from: string | null } }
  | { refused: string };

const EXPECTED: Record<string, Expected> = {
  'ietf/draft-ietf-dmarc-failure-reporting-example.eml': {
    stored: 'gen.example!20220719055748.4AE9D403CC@gen.example',
    report: {
      format: 'arf',
      reporter: 'gen.example',
      reportedDomain: 'consumer.example',
      authFailure: 'dmarc',
      sourceIp: '192.0.2.2',
      identityAlignment: 'dkim',
      dkimDomain: 'consumer.example',
      dkimSelector: 'epsilon',
      originalMailFrom: 'author=gen.example@forwarder.example',
      originalEnvelopeId: '65E1A3F0A0',
      userAgent: 'DMARC-Filter/1.2.3',
    },
    original: { subject: 'This is the original subject', from: 'Message Author <author@consumer.example>' },
  },
  'parsedmarc/domain.de_failure_report.eml': {
    stored: 'domain.de!OF587285BA.CB01D107-ONC1258319.00334FCF@LocalDomain',
    report: { reportedDomain: 'domain.de', sourceIp: '10.10.10.10', authFailure: 'dmarc', originalMailFrom: 'sharepoint@domain.de', originalRcptTo: ['peter.pan@domain.de'], arrivalDate: 1538385627 },
  },
  'parsedmarc/exim_plain_text_only_no_arf_part.eml': {
    stored: 'node01.mailgate.example.net!E1u1tpB-00AA5u-ED@node04.mailgate.example.net',
    report: { format: 'exim-text', reportedDomain: 'example.com', sourceIp: '203.0.113.68', identityAlignment: 'none', arrivalDate: Date.UTC(2025, 3, 7, 21, 16, 9) / 1000 },
    original: { subject: 'Payment from your account.', from: '<user@example.com>' },
  },
  'parsedmarc/historical/subject.eml': { refused: 'KGM-REPORT-FAILURE' },
  'parsedmarc/linkedin_failure_report.eml': {
    stored: 'linkedin.com!BB.91.26019.C3EA7CC5@mail516.prod.linkedin.com',
    report: { reporter: 'linkedin.com', reportedDomain: 'example.com', sourceIp: '10.10.10.10', originalMailFrom: null, originalRcptTo: ['recipient@linkedin.com'], deliveryResult: 'delivered', arrivalDate: Date.UTC(2019, 3, 30, 2, 9, 0) / 1000 },
  },
  // The same report with CRLF line endings: the same id, so a duplicate.
  'parsedmarc/linkedin_failure_report.crlf.eml': {
    stored: 'linkedin.com!BB.91.26019.C3EA7CC5@mail516.prod.linkedin.com',
    report: { reportedDomain: 'example.com', sourceIp: '10.10.10.10' },
  },
  'parsedmarc/netease_163_failure_report.eml': {
    stored: '163.com!5BADEAEC.AC2A83.17156@m12-184.163.com',
    report: { reporter: '163.com', reportedDomain: 'cardinal.com', sourceIp: '167.89.69.24', authFailure: null, identityAlignment: 'spf,dkim', dkimDomain: 'entrata.com', deliveryResult: 'delivered', userAgent: 'NtesDmarcReporter/1.0' },
    original: { subject: 'Rent Reminder', from: '700 on Washington <info@cardinal.com>' },
  },
  'stalwart-mail-auth/001.eml': { refused: 'KGM-REPORT-NOT-DMARC' },
  'stalwart-mail-auth/002.eml': { refused: 'KGM-REPORT-NOT-DMARC' },
  'stalwart-mail-auth/003.eml': {
    // No Message-ID on the report mail: the id is a digest of its content.
    stored: 'example.com!sha256:',
    report: { reportedDomain: 'example.net', authFailure: 'bodyhash', sourceIp: '192.0.2.1', dkimDomain: 'example.net', originalMailFrom: 'randomuser@example.net', originalRcptTo: ['user@example.com'], arrivalDate: 1271272531 },
    original: { subject: 'This is a test', from: 'randomuser@example.net' },
  },
  'stalwart-mail-auth/004.eml': {
    stored: 'box.mydomain.name!20211005043702.CF8FA658E0@box.mydomain.name',
    report: { reportedDomain: 'interpublication.org', sourceIp: '148.163.85.135', sourceHost: 'sainay.interpublication.org', userAgent: 'OpenDMARC-Filter/1.3.2', originalEnvelopeId: '8BE2660E72' },
    original: { subject: 'Wir kaufen dein Auto!', from: '"Rolf Bader" <info@interpublication.org>' },
  },
  'stalwart-mail-auth/005.eml': {
    stored: 'mail.receiver.example!433689.81121.example@mta.mail.receiver.example',
    report: { reportedDomain: 'a.sender.example', authFailure: 'bodyhash', sourceIp: '192.0.2.1', dkimDomain: 'sender.example', dkimSelector: 'testkey' },
    original: { subject: 'You have a new bill from your bank', from: 'anexample@a.sender.example' },
  },
};

describe('dmarc-forensic corpus: every mail is stored or refused with a code', () => {
  it('knows every mail of the corpus', () => {
    expect(mails).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(mails)('%s', async (m) => {
    const store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
    try {
      const want = EXPECTED[m]!;
      const summary = await importMessageBytes(readFileSync(join(ROOT, m)), m, { store, source: 'mail' });
      if ('refused' in want) {
        expect(summary.reports).toEqual([]);
        expect(summary.rejected.map((r) => r.code)).toEqual([want.refused]);
        expect(summary.rejected[0]!.reason).not.toBe('');
        expect((await store.listRejectedInputs()).map((r) => r.code)).toEqual([want.refused]);
        return;
      }
      expect(summary.rejected).toEqual([]);
      expect(summary.reports).toHaveLength(1);
      const item = summary.reports[0]!;
      expect(item).toMatchObject({ kind: 'failure', outcome: 'stored', domain: want.report.reportedDomain });
      expect(item.id.startsWith(want.stored)).toBe(true);
      const stored = await store.getReport(item.id);
      expect(stored).toMatchObject({ kind: 'failure', domain: want.report.reportedDomain, source: 'mail', records: 1 });
      expect(stored!.policy).toMatchObject(want.report);
      expect(stored!.failure).toMatchObject({ sourceIp: want.report.sourceIp ?? null, format: want.report.format ?? 'arf' });
      if (want.original) expect(stored!.failure).toMatchObject({ subject: want.original.subject, headerFrom: want.original.from });
    } finally {
      await store.close();
    }
  });
});

describe('dmarc-forensic corpus: one batch', () => {
  let store: Store;
  beforeAll(async () => {
    store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
  });
  afterAll(() => store.close());

  it('imports the whole folder: 8 stored, the CRLF twin a duplicate, 3 refused; again: nothing new', async () => {
    const first = await importPaths([ROOT], { store });
    expect({ stored: first.stored, duplicates: first.duplicates, rejected: first.rejected.length }).toEqual({ stored: 8, duplicates: 1, rejected: 3 });
    const failures = await store.listReports({ kind: 'failure' });
    expect(failures).toHaveLength(8);
    const again = await importPaths([ROOT], { store });
    expect({ stored: again.stored, duplicates: again.duplicates }).toEqual({ stored: 0, duplicates: 9 });
    expect(await store.listReports({ kind: 'failure' })).toHaveLength(8);
    expect(await store.listRejectedInputs()).toHaveLength(3);
  });
});
