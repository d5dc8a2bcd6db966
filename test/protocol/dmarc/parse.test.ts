/**
 * DMARC Policy Record parsing, from RFC 9989 §4.7 (tags), §4.8 (formal definition: errors fall
 * back to defaults) and §4.10.1 (invalid p / sp / np).
 */
import { describe, expect, it } from 'vitest';
import { parseDmarcRecord } from '../../../src/auth/dmarc/parse.js';
import type { DmarcParseIssueCode, DmarcRecord } from '../../../src/auth/dmarc/types.js';

type Case = [name: string, txt: string, expected: Partial<DmarcRecord>, warnings?: DmarcParseIssueCode[]];

const records: Case[] = [
  ['minimal', 'v=DMARC1; p=reject', { policy: 'reject', subdomainPolicy: null, nonExistentPolicy: null, psd: 'u', testing: false }],
  ['defaults', 'v=DMARC1; p=none', { dkimAlignment: 'relaxed', spfAlignment: 'relaxed', failureOptions: ['0'], aggregateReportUris: [] }],
  ['every tag', 'v=DMARC1; p=quarantine; sp=reject; np=none; psd=n; t=y; adkim=s; aspf=s; fo=1:d:s; rua=mailto:a@example.com; ruf=mailto:f@example.com', {
    policy: 'quarantine', subdomainPolicy: 'reject', nonExistentPolicy: 'none', psd: 'n', testing: true,
    dkimAlignment: 'strict', spfAlignment: 'strict', failureOptions: ['1', 'd', 's'],
    aggregateReportUris: ['mailto:a@example.com'], failureReportUris: ['mailto:f@example.com'], policyFault: null,
  }],
  ['tags in any order after v', 'v=DMARC1; rua=mailto:a@example.com; psd=y; p=reject', { policy: 'reject', psd: 'y' }],
  ['trailing separator', 'v=DMARC1; p=reject;', { policy: 'reject' }],
  ['WSP around = and ;', 'v = DMARC1 ;\tp =\treject ; sp= none', { policy: 'reject', subdomainPolicy: 'none' }],
  ['tag names and keywords in any case (RFC 5234 2.3)', 'V=DMARC1; P=Reject; SP=QUARANTINE; ADKIM=S; T=Y', {
    policy: 'reject', subdomainPolicy: 'quarantine', dkimAlignment: 'strict', testing: true,
  }],
  ['several rua URIs with WSP', 'v=DMARC1; p=none; rua=mailto:a@example.com , mailto:b@example.net', {
    aggregateReportUris: ['mailto:a@example.com', 'mailto:b@example.net'],
  }],
  ['TXT strings concatenated with no space', 'v=DMARC1; p=none; rua=mailto:a@example.com,mailto:b@example.net', {
    aggregateReportUris: ['mailto:a@example.com', 'mailto:b@example.net'],
  }],
  ['https rua', 'v=DMARC1; p=none; rua=https://reports.example.com/dmarc', { aggregateReportUris: ['https://reports.example.com/dmarc'] }],
  // §4.7 p: absent → p=none
  ['no p: treated as p=none', 'v=DMARC1; rua=mailto:a@example.com', { policy: 'none', policyFault: null }, ['missing-p']],
  ['v alone', 'v=DMARC1', { policy: 'none' }, ['missing-p']],
  // §4.10.1: invalid p / sp / np
  ['invalid p with valid rua → as p=none', 'v=DMARC1; p=rejected; rua=mailto:a@example.com', {
    policy: 'none', policyFault: { tags: ['p'], handling: 'as-p-none' },
  }, ['invalid-policy']],
  ['invalid p, no rua → no DMARC', 'v=DMARC1; p=rejected', {
    policyFault: { tags: ['p'], handling: 'no-dmarc' },
  }, ['invalid-policy']],
  ['invalid p, only an invalid rua → no DMARC', 'v=DMARC1; p=bogus; rua=not a uri', {
    policyFault: { tags: ['p'], handling: 'no-dmarc' },
  }, ['invalid-uri', 'invalid-policy']],
  ['invalid sp with rua: sp dropped, p=none', 'v=DMARC1; p=reject; sp=quarantin; rua=mailto:a@example.com', {
    policy: 'none', subdomainPolicy: null, policyFault: { tags: ['sp'], handling: 'as-p-none' },
  }, ['invalid-policy']],
  ['invalid np without rua', 'v=DMARC1; p=reject; np=block', { policyFault: { tags: ['np'], handling: 'no-dmarc' } }, ['invalid-policy']],
  ['empty p', 'v=DMARC1; p=', { policyFault: { tags: ['p'], handling: 'no-dmarc' } }, ['invalid-policy']],
  ['duplicate p is an invalid p (RFC 6376 3.2)', 'v=DMARC1; p=none; p=reject', {
    policyFault: { tags: ['p'], handling: 'no-dmarc' },
  }, ['duplicate-tag', 'invalid-policy']],
  // §4.8: other errors → defaults
  ['invalid adkim → relaxed', 'v=DMARC1; p=reject; adkim=x', { dkimAlignment: 'relaxed' }, ['invalid-value']],
  ['invalid psd → u', 'v=DMARC1; p=reject; psd=maybe', { psd: 'u' }, ['invalid-value']],
  ['invalid t → n', 'v=DMARC1; p=reject; t=yes', { testing: false }, ['invalid-value']],
  ['fo with 0 and 1 → default', 'v=DMARC1; p=none; fo=0:1', { failureOptions: ['0'] }, ['invalid-value']],
  ['duplicate aspf → default', 'v=DMARC1; p=none; aspf=s; aspf=s', { spfAlignment: 'relaxed' }, ['duplicate-tag']],
  ['obsolete !size on a URI', 'v=DMARC1; p=none; rua=mailto:a@example.com!10m', {
    aggregateReportUris: ['mailto:a@example.com'],
  }, ['obsolete-uri-size']],
  ['legacy pct, rf, ri: kept, warned', 'v=DMARC1; p=reject; pct=50; rf=afrf; ri=3600', {
    policy: 'reject', obsolete: { pct: '50', rf: 'afrf', ri: '3600' },
  }, ['obsolete-tag', 'obsolete-tag', 'obsolete-tag']],
  ['unknown tag ignored', 'v=DMARC1; p=reject; foo=bar', { policy: 'reject' }, ['unknown-tag']],
  ['segment without =', 'v=DMARC1; p=reject; garbage', { policy: 'reject' }, ['syntax']],
  ['second v ignored', 'v=DMARC1; p=reject; v=DMARC2', { policy: 'reject' }, ['duplicate-tag']],
];

describe('parseDmarcRecord', () => {
  it.each(records)('%s', (_name, txt, expected, warnings = []) => {
    const parsed = parseDmarcRecord(txt);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.record).toMatchObject(expected);
    expect(parsed.warnings.map((w) => w.code)).toEqual(warnings);
  });

  it.each([
    ['empty', ''],
    ['SPF record', 'v=spf1 -all'],
    ['v not first (RFC 9989 §4.7)', 'p=reject; v=DMARC1'],
    ['version is case-sensitive', 'v=dmarc1; p=reject'],
    ['another version', 'v=DMARC2; p=reject'],
    ['missing separator after the version', 'v=DMARC1 p=reject'],
    ['leading garbage', 'x v=DMARC1; p=reject'],
  ])('not a DMARC record: %s', (_name, txt) => {
    const parsed = parseDmarcRecord(txt);
    expect(parsed).toMatchObject({ ok: false, issues: [{ code: 'not-dmarc' }] });
  });

  it('keeps every tag as published, lowercased names, in order', () => {
    const parsed = parseDmarcRecord('v=DMARC1; P=Reject; Foo=Bar');
    expect(parsed.ok && parsed.record.tags).toEqual([
      { name: 'p', value: 'Reject' },
      { name: 'foo', value: 'Bar' },
    ]);
  });

  it('says what it did in words, citing the section', () => {
    const parsed = parseDmarcRecord('v=DMARC1; p=reject; pct=20');
    expect(parsed.ok && parsed.warnings[0]?.message).toBe('pct is historic in RFC 9989 (§9.3, Appendix C.5.2): ignored');
  });
});
