/**
 * The pure parts of DMARC evaluation: policy tag selection (RFC 9989 §4.10.1), t=y (§4.7), and
 * which Organizational Domains alignment needs (§4.10.2), on hand-built discovery results.
 */
import { describe, expect, it } from 'vitest';
import {
  evaluateDmarc,
  isAtOrBelow,
  oneLevelBelow,
  organizationalDomainsNeeded,
  selectPolicy,
} from '../../../src/auth/dmarc/evaluate.js';
import { parseDmarcRecord } from '../../../src/auth/dmarc/parse.js';
import type { DmarcInput, DomainExistence, PolicyDiscovery } from '../../../src/auth/dmarc/types.js';

function found(txt: string, policyDomain: string, opts: { org?: string | null; exists?: DomainExistence; from?: string } = {}) {
  const parsed = parseDmarcRecord(txt);
  if (!parsed.ok) throw new Error('bad fixture');
  return {
    kind: 'found',
    fromDomain: opts.from ?? policyDomain,
    policyDomain,
    record: parsed.record,
    source: policyDomain === (opts.from ?? policyDomain) ? 'author' : 'organizational',
    organizationalDomain: opts.org === undefined ? policyDomain : opts.org,
    fromDomainExists: opts.exists ?? 'not-checked',
    warnings: [],
    trace: [],
  } satisfies PolicyDiscovery;
}

describe('oneLevelBelow (t=y, §4.7)', () => {
  it.each([
    ['reject', 'quarantine'],
    ['quarantine', 'none'],
    ['none', 'none'],
  ] as const)('%s → %s', (policy, applied) => expect(oneLevelBelow(policy)).toBe(applied));
});

describe('selectPolicy (§4.10.1)', () => {
  it.each([
    // [record, from, existence, tag, policy]
    ['v=DMARC1; p=reject; sp=none; np=none', 'example.com', 'not-checked', 'p', 'reject'],
    ['v=DMARC1; p=reject; sp=quarantine; np=none', 'a.example.com', 'exists', 'sp', 'quarantine'],
    ['v=DMARC1; p=reject; sp=quarantine; np=none', 'a.example.com', 'nxdomain', 'np', 'none'],
    ['v=DMARC1; p=reject; sp=quarantine', 'a.example.com', 'nxdomain', 'sp', 'quarantine'],
    ['v=DMARC1; p=quarantine', 'a.example.com', 'nxdomain', 'p', 'quarantine'],
    ['v=DMARC1; p=quarantine; np=reject', 'a.example.com', 'exists', 'p', 'quarantine'],
  ] as const)('%s for %s (%s) → %s', (txt, from, exists, tag, policy) => {
    expect(selectPolicy(from, found(txt, 'example.com', { from, exists }))).toEqual({ ok: true, tag, policy });
  });

  it('unknown existence when np could apply', () => {
    const policy = found('v=DMARC1; p=none; np=reject', 'example.com', { from: 'a.example.com', exists: 'tempfail' });
    expect(selectPolicy('a.example.com', policy)).toMatchObject({ ok: false });
  });
});

describe('organizationalDomainsNeeded (§4.10.2)', () => {
  const input = (spfDomain: string | null, ...dkim: string[]): DmarcInput => ({
    fromDomain: 'mail.example.com',
    spf: { result: 'pass', domain: spfDomain },
    dkim: dkim.map((domain) => ({ result: 'pass', domain, selector: 's' })),
  });
  const relaxed = found('v=DMARC1; p=reject', 'mail.example.com', { org: null });
  it.each([
    ['identical identifiers: none', input('mail.example.com'), relaxed, []],
    ['an identical pass makes any walk useless', input('mail.example.com', 'esp.example.net'), relaxed, []],
    ['the From domain first, then the others', input('bounce.example.com', 'example.com'), relaxed, ['mail.example.com', 'bounce.example.com', 'example.com']],
    ['strict: none', input('bounce.example.com'), found('v=DMARC1; p=reject; aspf=s', 'mail.example.com', { org: null }), []],
    ['From Organizational Domain known: only identifiers under it', input('bounce.example.com', 'esp.example.net'),
      found('v=DMARC1; p=reject', 'example.com', { from: 'mail.example.com', org: 'example.com' }), ['bounce.example.com']],
    ['no policy: none', input('bounce.example.com'), { kind: 'none', fromDomain: 'mail.example.com', warnings: [], trace: [] } as PolicyDiscovery, []],
    ['failed SPF is not an identifier', { ...input(null, 'x.example.com'), spf: { result: 'fail', domain: 'b.example.com' } } as DmarcInput, relaxed,
      ['mail.example.com', 'x.example.com']],
  ] as const)('%s', (_name, facts, policy, expected) => {
    expect(organizationalDomainsNeeded(facts, policy)).toEqual(expected);
  });

  it.each([
    ['example.com', 'example.com', true],
    ['a.example.com', 'example.com', true],
    ['badexample.com', 'example.com', false],
    ['example.com', 'a.example.com', false],
  ])('isAtOrBelow(%s, %s) = %s', (d, a, expected) => expect(isAtOrBelow(d, a)).toBe(expected));
});

describe('evaluateDmarc', () => {
  it('an Organizational Domain that was not looked up is unknown, not unaligned', () => {
    const facts: DmarcInput = { fromDomain: 'example.com', spf: { result: 'pass', domain: 'b.example.com' }, dkim: [] };
    const evaluation = evaluateDmarc(facts, { policy: found('v=DMARC1; p=reject', 'example.com'), organizationalDomains: {} });
    expect(evaluation).toMatchObject({ result: 'temperror', appliedPolicy: null });
    expect(evaluation.reason).toContain('the Organizational Domain of b.example.com was not looked up');
  });

  it('relaxed alignment through the supplied Organizational Domains', () => {
    const facts: DmarcInput = { fromDomain: 'example.com', spf: { result: 'pass', domain: 'b.example.com' }, dkim: [] };
    const evaluation = evaluateDmarc(facts, {
      policy: found('v=DMARC1; p=reject', 'example.com'),
      organizationalDomains: {
        'b.example.com': { kind: 'found', domain: 'b.example.com', organizationalDomain: 'example.com', rule: 'fewest-labels', trace: [] },
      },
    });
    expect(evaluation).toMatchObject({ result: 'pass', alignment: { spf: true, dkim: false } });
  });

  it('a different Organizational Domain under the From one does not align', () => {
    const facts: DmarcInput = { fromDomain: 'example.com', spf: { result: 'pass', domain: 'b.example.com' }, dkim: [] };
    const evaluation = evaluateDmarc(facts, {
      policy: found('v=DMARC1; p=quarantine', 'example.com'),
      organizationalDomains: {
        'b.example.com': { kind: 'found', domain: 'b.example.com', organizationalDomain: 'b.example.com', rule: 'psd=n', trace: [] },
      },
    });
    expect(evaluation).toMatchObject({ result: 'fail', appliedPolicy: 'quarantine' });
  });
});
