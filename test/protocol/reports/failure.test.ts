/** The failure report model (RFC 9991 / RFC 6591): fields, fallbacks, refusals. Pure, no I/O. */
import { describe, expect, it } from 'vitest';
import { bareAddress, parseFailureReport, parseFeedbackFields, type FailureReportInput } from '../../../src/reports/model/failure.js';

const base: FailureReportInput = {
  feedback: null,
  original: null,
  text: '',
  from: 'DMARC Reporter <dmarc@reporter.example>',
  date: Date.UTC(2026, 11, 1, 12, 0, 0),
  messageId: '<r1@reporter.example>',
  digest: 'abc',
};

const feedback = (lines: string[]) => ({ ...base, feedback: lines.join('\r\n') + '\r\n' });

describe('parseFeedbackFields', () => {
  it('reads fields in order, unfolds continuation lines, stops at the first empty line', () => {
    expect(parseFeedbackFields('Feedback-Type: auth-failure\nAuthentication-Results: mx.example;\n  dmarc=fail header.from=a.example\n\nIgnored: yes\n')).toEqual([
      { name: 'Feedback-Type', value: 'auth-failure' },
      { name: 'Authentication-Results', value: 'mx.example; dmarc=fail header.from=a.example' },
    ]);
  });
  it('skips lines that are not fields and keeps at most 200 fields', () => {
    expect(parseFeedbackFields('garbage line\nA: 1\n')).toEqual([{ name: 'A', value: '1' }]);
    const many = Array.from({ length: 10_000 }, (_, i) => `X-${i}: v`).join('\n');
    expect(parseFeedbackFields(many)).toHaveLength(200);
  });
});

describe('bareAddress', () => {
  it.each([
    ['<a@b.example>', 'a@b.example'],
    ['Name <a@b.example>;', 'a@b.example'],
    ['a@b.example', 'a@b.example'],
    ['<>', null],
    ['', null],
  ])('%s → %s', (input, want) => expect(bareAddress(input)).toBe(want));
});

describe('parseFailureReport', () => {
  it('reads an RFC 6591 report: reporter from the From domain, id from the Message-ID', () => {
    const r = parseFailureReport({
      ...feedback(['Feedback-Type: auth-failure', 'Version: 1', 'Auth-Failure: dmarc', 'Reported-Domain: Ours.Example', 'Source-IP: 2001:db8::1', 'Original-Rcpt-To: <a@x.example>', 'Original-Rcpt-To: <b@x.example>', 'Arrival-Date: Tue, 1 Dec 2026 11:59:00 +0000', 'Identity-Alignment: none', 'Delivery-Result: reject']),
      original: 'From: Bob <bob@ours.example>\nSubject: hello\nMessage-ID: <m@ours.example>\n\nbody is not read\n',
    });
    if (!r.ok) throw new Error(r.reason);
    expect(r.report).toMatchObject({
      reporter: 'reporter.example',
      reporterAddress: 'dmarc@reporter.example',
      reportId: 'r1@reporter.example',
      reportedDomain: 'ours.example',
      sourceIp: '2001:db8::1',
      originalRcptTo: ['a@x.example', 'b@x.example'],
      arrivalDate: Date.UTC(2026, 11, 1, 11, 59, 0) / 1000,
      reportedAt: Date.UTC(2026, 11, 1, 12, 0, 0) / 1000,
      identityAlignment: 'none',
      deliveryResult: 'reject',
      original: { from: 'Bob <bob@ours.example>', subject: 'hello', messageId: '<m@ours.example>' },
    });
    expect(r.report.original!.headers).not.toContain('body is not read');
  });
  it('without Reported-Domain, takes header.from from Authentication-Results, with a warning', () => {
    const r = parseFailureReport(feedback(['Feedback-Type: auth-failure', 'Authentication-Results: mx.example; dmarc=fail header.from=ours.example']));
    if (!r.ok) throw new Error(r.reason);
    expect(r.report.reportedDomain).toBe('ours.example');
    expect(r.warnings.map((w) => w.message).join('\n')).toMatch(/no Reported-Domain/);
  });
  it('without Reported-Domain or anything to take it from: KGM-REPORT-FAILURE', () => {
    expect(parseFailureReport(feedback(['Feedback-Type: auth-failure', 'Source-IP: 192.0.2.1']))).toMatchObject({ ok: false, code: 'KGM-REPORT-FAILURE' });
  });
  it('an abuse complaint is not a DMARC report: KGM-REPORT-NOT-DMARC', () => {
    expect(parseFailureReport(feedback(['Feedback-Type: abuse', 'Reported-Domain: ours.example']))).toMatchObject({ ok: false, code: 'KGM-REPORT-NOT-DMARC' });
  });
  it('an empty feedback part, or one without Feedback-Type: KGM-REPORT-FAILURE', () => {
    expect(parseFailureReport({ ...base, feedback: '\r\n' })).toMatchObject({ ok: false, code: 'KGM-REPORT-FAILURE' });
    expect(parseFailureReport(feedback(['Reported-Domain: ours.example']))).toMatchObject({ ok: false, code: 'KGM-REPORT-FAILURE' });
  });
  it('a Source-IP that is no address is dropped with a warning, not trusted', () => {
    const r = parseFailureReport(feedback(['Feedback-Type: auth-failure', 'Reported-Domain: ours.example', 'Source-IP: mail.evil.example']));
    if (!r.ok) throw new Error(r.reason);
    expect(r.report.sourceIp).toBeNull();
    expect(r.warnings.some((w) => /not an IP address/.test(w.message))).toBe(true);
  });
  it('without a Message-ID the id is the content digest', () => {
    const r = parseFailureReport({ ...feedback(['Feedback-Type: auth-failure', 'Reported-Domain: ours.example']), messageId: null });
    if (!r.ok) throw new Error(r.reason);
    expect(r.report.reportId).toBe('sha256:abc');
  });
  it("Exim's plain-text notice without a feedback part is read; other text is refused", () => {
    const text = 'A message claiming to be from you has failed\n\n  Sender Domain: ours.example\n  Sender IP Address: 198.51.100.7\n  SPF Alignment: yes\n  DKIM Alignment: no\n\n------ This is a copy of the headers that were received before the error was detected.\n\nFrom: x@ours.example\nSubject: s\n';
    const r = parseFailureReport({ ...base, text });
    if (!r.ok) throw new Error(r.reason);
    expect(r.report).toMatchObject({ format: 'exim-text', reportedDomain: 'ours.example', sourceIp: '198.51.100.7', identityAlignment: 'spf', original: { subject: 's' } });
    expect(parseFailureReport({ ...base, text: 'hello' })).toMatchObject({ ok: false, code: 'KGM-REPORT-FAILURE' });
  });
});
