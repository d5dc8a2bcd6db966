/**
 * Every TLS report JSON in shared/corpus/tlsrpt/ parses (with warnings for the known deviations);
 * a sample is checked field by field against values read from the files by hand. Mail and gzip
 * intake of these reports comes with the rest of issue #5.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseTlsReport } from '../../src/reports/model/tlsrpt.js';

const CORPUS = new URL('../../../shared/corpus/tlsrpt/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

const reports = files(CORPUS).filter((f) => f.endsWith('.json') || f.endsWith('.json.gz'));

describe('TLS-RPT corpus', () => {
  it('has the files this test reads', () => {
    expect(reports.length).toBeGreaterThanOrEqual(13);
  });

  for (const file of reports) {
    it(`parses ${path.relative(CORPUS, file)}`, () => {
      const bytes = readFileSync(file);
      const r = parseTlsReport(file.endsWith('.gz') ? gunzipSync(bytes, { maxOutputLength: 1 << 20 }) : bytes);
      if (!r.ok) throw new Error(r.reason);
      expect(r.report.policies.length).toBeGreaterThan(0);
    });
  }

  const read = (name: string) => {
    const r = parseTlsReport(readFileSync(path.join(CORPUS, name)));
    if (!r.ok) throw new Error(r.reason);
    return r;
  };

  it('reads the RFC 8460 example exactly', () => {
    const { report } = read('cry-inc/rfc-example.json');
    expect(report).toMatchObject({
      organizationName: 'Company-X',
      reportId: '5065427c-23d3-47ca-b6e0-946ea0e8c4be',
      contactInfo: 'sts-reporting@company-x.example',
      begin: Date.UTC(2016, 3, 1) / 1000,
    });
    const p = report.policies[0]!;
    expect(p).toMatchObject({ policyType: 'sts', policyDomain: 'company-y.example', successfulSessions: 5326, failedSessions: 303, mxHost: ['*.mail.company-y.example'] });
    expect(p.policyString).toContain('mode: testing');
    expect(p.failureDetails.map((d) => [d.resultType, d.failedSessionCount])).toEqual([
      ['certificate-expired', 100],
      ['starttls-not-supported', 200],
      ['validation-failure', 3],
    ]);
    expect(p.failureDetails[2]).toMatchObject({ sendingMtaIp: '198.51.100.62', receivingIp: '203.0.113.58', failureReasonCode: 'X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED' });
  });

  it('accepts a null contact-info and a no-policy-found policy with warnings', () => {
    expect(read('cry-inc/no-contact.json').warnings).toContain('contact-info is null');
    expect(read('cry-inc/no-policy.json').report.policies[0]!.policyType).toBe('no-policy-found');
  });

  it("takes a missing policy-domain from Google's report-id, and keeps an unknown policy-type with a warning", () => {
    const r = read('stalwart-mail-auth/rpt03.json');
    expect(r.report.policies.map((p) => [p.policyType, p.policyDomain, p.successfulSessions, p.failedSessions])).toEqual([
      ['no-policy-found', 'example.org', 1, 0],
      ['invalid-policy-type', 'example.org', 1, 0],
    ]);
    expect(r.warnings.join('\n')).toMatch(/policy-type "invalid-policy-type"/);
  });

  it('reads Mail.ru: no policy-string, HTTP errors as reason codes', () => {
    const { report } = read('parsedmarc/mail.ru.json');
    expect(report.organizationName).toBe('Mail.ru');
    const details = report.policies.flatMap((p) => p.failureDetails);
    expect(details[0]).toMatchObject({ resultType: 'sts-policy-fetch-error', failureReasonCode: 'bad https response code: 404', failedSessionCount: 1 });
  });

  it('refuses what is not a TLS report, with a reason', () => {
    expect(parseTlsReport('{"hello": 1}')).toMatchObject({ ok: false, code: 'KGM-REPORT-TLSRPT' });
    expect(parseTlsReport('not json')).toMatchObject({ ok: false, reason: expect.stringMatching(/^not JSON/) });
    expect(parseTlsReport('[1,2]')).toMatchObject({ ok: false });
    expect(parseTlsReport('x'.repeat(100), 10)).toMatchObject({ ok: false, reason: expect.stringMatching(/larger than 10 bytes/) });
  });
});
