/**
 * DMARC end to end (From → discovery → alignment → policy), one table of RFC 9989 cases against
 * the in-memory zone. `queries` counts what reached the DNS (zoneResolver `calls`).
 */
import { describe, expect, it } from 'vitest';
import type { DmarcDkimInput, DmarcEvaluation, DmarcSpfInput } from '../../../src/auth/dmarc/types.js';
import { verifyDmarc } from '../../../src/auth/dmarc/verify.js';
import type { DnsResolver } from '../../../src/dns/types.js';
import { zoneResolver, type ZoneData } from '../../../src/dns/zone.js';

interface Case {
  name: string;
  dmarc: Record<string, string | string[]>;
  zone?: ZoneData;
  from: string | string[];
  spf?: DmarcSpfInput;
  dkim?: DmarcDkimInput[];
  expect: Partial<DmarcEvaluation>;
  reason?: string | RegExp;
  queries?: number;
}

const P_REJECT = { 'example.com': 'v=DMARC1; p=reject' };
const noSpf: DmarcSpfInput = { result: 'none', domain: null };
const spf = (domain: string, result: DmarcSpfInput['result'] = 'pass'): DmarcSpfInput => ({ result, domain });
const dkim = (domain: string, result: DmarcDkimInput['result'] = 'pass', selector = 'sel'): DmarcDkimInput => ({ result, domain, selector });
const www = { 'www.example.com': { A: ['192.0.2.1'] } };

const cases: Case[] = [
  // Alignment, SPF (§4.4.2, Appendix B.1.1)
  { name: 'SPF strict alignment: identical domains', dmarc: P_REJECT, from: 'a@example.com', spf: spf('example.com'),
    expect: { result: 'pass', appliedPolicy: 'none', alignment: { spf: true, dkim: false }, policyTag: 'p', policy: 'reject' },
    reason: 'SPF (example.com) aligned with example.com', queries: 1 },
  { name: 'SPF relaxed: MAIL FROM a subdomain', dmarc: P_REJECT, from: 'a@example.com', spf: spf('child.example.com'),
    expect: { result: 'pass', alignment: { spf: true, dkim: false }, organizationalDomain: 'example.com' },
    reason: 'SPF (child.example.com) aligned with example.com (relaxed: Organizational Domain example.com)', queries: 3 },
  { name: 'SPF aspf=s: a subdomain does not align', dmarc: { 'example.com': 'v=DMARC1; p=reject; aspf=s' }, from: 'a@example.com', spf: spf('child.example.com'),
    expect: { result: 'fail', appliedPolicy: 'reject', alignment: { spf: false, dkim: false } }, queries: 1 },
  { name: 'SPF aspf=s: identical domain passes', dmarc: { 'example.com': 'v=DMARC1; p=reject; aspf=s' }, from: 'a@example.com', spf: spf('EXAMPLE.com'),
    expect: { result: 'pass' }, queries: 1 },
  { name: 'SPF fail on an aligned domain is no pass', dmarc: P_REJECT, from: 'a@example.com', spf: spf('example.com', 'fail'),
    expect: { result: 'fail', appliedPolicy: 'reject' }, reason: 'neither SPF (example.com: fail) nor DKIM (no signature) aligned with example.com; p=reject from _dmarc.example.com' },
  { name: 'SPF softfail is no pass', dmarc: P_REJECT, from: 'a@example.com', spf: spf('example.com', 'softfail'), expect: { result: 'fail' } },
  { name: 'the reason names both unaligned identifiers', dmarc: P_REJECT, from: 'a@example.com', spf: spf('bounce.x.com'), dkim: [dkim('list.example.org')],
    expect: { result: 'fail', appliedPolicy: 'reject' },
    reason: 'neither SPF (bounce.x.com) nor DKIM (d=list.example.org) aligned with example.com; p=reject from _dmarc.example.com',
    queries: 2 }, // _dmarc.example.com, _dmarc.com: identifiers outside example.com cannot align, so are never walked
  // Alignment, DKIM (§4.4.1, Appendix B.1.2)
  { name: 'DKIM strict: identical d=', dmarc: P_REJECT, from: 'a@example.com', dkim: [dkim('example.com')],
    expect: { result: 'pass', alignment: { spf: false, dkim: true }, alignedDkim: { domain: 'example.com', selector: 'sel' } },
    reason: 'DKIM (d=example.com s=sel) aligned with example.com', queries: 1 },
  { name: 'DKIM relaxed: d= parent of the From domain', dmarc: P_REJECT, zone: www, from: 'a@www.example.com', dkim: [dkim('example.com')],
    expect: { result: 'pass', alignment: { spf: false, dkim: true }, policyDomain: 'example.com' }, queries: 3 },
  { name: 'DKIM adkim=s: parent d= does not align; sp falls back to p', dmarc: { 'example.com': 'v=DMARC1; p=quarantine; adkim=s' }, zone: www,
    from: 'a@www.example.com', dkim: [dkim('example.com')],
    expect: { result: 'fail', policyTag: 'p', policy: 'quarantine', appliedPolicy: 'quarantine' }, queries: 3 },
  { name: 'DKIM: the second signature aligns', dmarc: P_REJECT, from: 'a@example.com', dkim: [dkim('esp.example.net'), dkim('example.com', 'fail', 's1'), dkim('mail.example.com', 'pass', 's2')],
    expect: { result: 'pass', alignedDkim: { domain: 'mail.example.com', selector: 's2' } } },
  { name: 'DKIM fail on the From domain is no pass', dmarc: P_REJECT, from: 'a@example.com', dkim: [dkim('example.com', 'fail')],
    expect: { result: 'fail', alignedDkim: null }, reason: /DKIM \(d=example\.com: fail\)/ },
  { name: 'SPF and DKIM both aligned', dmarc: P_REJECT, from: 'a@example.com', spf: spf('example.com'), dkim: [dkim('example.com')],
    expect: { result: 'pass', alignment: { spf: true, dkim: true } }, reason: 'SPF (example.com) and DKIM (d=example.com s=sel) aligned with example.com' },
  { name: 'relaxed alignment is decided by the tree walk, not a suffix list (psd=n)',
    dmarc: { 'a.example.com': 'v=DMARC1; p=reject; psd=n', 'example.com': 'v=DMARC1; p=none' },
    from: 'x@a.example.com', spf: spf('b.example.com'), expect: { result: 'fail', organizationalDomain: 'a.example.com' } },
  // Appendix B.4.3: PSD record in the walk
  { name: 'B.4.3: SPF aligned, DKIM in a sibling organization not',
    dmarc: { 'giant.bank.example': 'v=DMARC1; p=reject', 'bank.example': 'v=DMARC1; p=none; psd=y' },
    from: 'a@giant.bank.example', spf: spf('mail.giant.bank.example'), dkim: [dkim('mail.mega.bank.example')],
    expect: { result: 'pass', alignment: { spf: true, dkim: false }, organizationalDomain: 'giant.bank.example' } },
  // Policy tag selection (§4.10.1)
  { name: 'sp for an existing subdomain', dmarc: { 'example.com': 'v=DMARC1; p=reject; sp=quarantine; np=none' }, zone: www, from: 'a@www.example.com',
    expect: { result: 'fail', policyTag: 'sp', policy: 'quarantine', appliedPolicy: 'quarantine', policyDomain: 'example.com' },
    reason: 'neither SPF (no MAIL FROM domain) nor DKIM (no signature) aligned with www.example.com; sp=quarantine from _dmarc.example.com', queries: 4 },
  { name: 'np for a non-existent subdomain (NXDOMAIN for A, AAAA, MX)', dmarc: { 'example.com': 'v=DMARC1; p=none; sp=none; np=reject' }, from: 'a@nx.example.com',
    expect: { result: 'fail', policyTag: 'np', policy: 'reject', appliedPolicy: 'reject' }, queries: 6 },
  { name: 'no np: a non-existent subdomain gets sp, without existence queries', dmarc: { 'example.com': 'v=DMARC1; p=none; sp=reject' }, from: 'a@nx.example.com',
    expect: { result: 'fail', policyTag: 'sp', policy: 'reject' }, queries: 3 },
  { name: 'no np, no sp: a subdomain gets p', dmarc: P_REJECT, from: 'a@nx.example.com', expect: { result: 'fail', policyTag: 'p', policy: 'reject' } },
  { name: 'np does not apply to the policy domain itself', dmarc: { 'example.com': 'v=DMARC1; p=quarantine; np=reject' }, from: 'a@example.com',
    expect: { result: 'fail', policyTag: 'p', policy: 'quarantine' }, queries: 1 },
  { name: "a subdomain's own record: p, not the parent's sp", dmarc: { 'example.com': 'v=DMARC1; p=none; sp=none', 'www.example.com': 'v=DMARC1; p=reject' },
    zone: www, from: 'a@www.example.com', expect: { result: 'fail', policyTag: 'p', policy: 'reject', policyDomain: 'www.example.com' }, queries: 1 },
  { name: 'PSD policy (psd=y at the top): sp for a registered domain', dmarc: { example: 'v=DMARC1; p=reject; sp=quarantine; np=reject; psd=y' },
    zone: { 'shop.example': { MX: [{ exchange: 'mx.shop.example', preference: 1 }] } }, from: 'a@shop.example',
    expect: { result: 'fail', policyDomain: 'example', organizationalDomain: 'shop.example', policyTag: 'sp', policy: 'quarantine' } },
  { name: 'PSD policy: np for a registered domain that does not exist', dmarc: { example: 'v=DMARC1; p=none; np=reject; psd=y' }, from: 'a@gone.example',
    expect: { result: 'fail', policyDomain: 'example', policyTag: 'np', appliedPolicy: 'reject' } },
  // t=y (§4.7)
  { name: 't=y: reject applied as quarantine', dmarc: { 'example.com': 'v=DMARC1; p=reject; t=y' }, from: 'a@example.com',
    expect: { result: 'fail', policy: 'reject', testing: true, appliedPolicy: 'quarantine' }, reason: /p=reject from _dmarc\.example\.com, t=y: applied as quarantine/ },
  { name: 't=y: quarantine applied as none', dmarc: { 'example.com': 'v=DMARC1; p=quarantine; t=y' }, from: 'a@example.com',
    expect: { result: 'fail', policy: 'quarantine', testing: true, appliedPolicy: 'none' } },
  { name: 't=y: none stays none', dmarc: { 'example.com': 'v=DMARC1; p=none; t=y' }, from: 'a@example.com', expect: { result: 'fail', appliedPolicy: 'none' } },
  { name: 't=y lowers sp too', dmarc: { 'example.com': 'v=DMARC1; p=none; sp=reject; t=y' }, zone: www, from: 'a@www.example.com',
    expect: { result: 'fail', policyTag: 'sp', policy: 'reject', appliedPolicy: 'quarantine' } },
  { name: 't=y on a pass changes nothing', dmarc: { 'example.com': 'v=DMARC1; p=reject; t=y' }, from: 'a@example.com', spf: spf('example.com'),
    expect: { result: 'pass', appliedPolicy: 'none', testing: true } },
  { name: 'legacy pct=0 is ignored, with a warning', dmarc: { 'example.com': 'v=DMARC1; p=reject; pct=0' }, from: 'a@example.com',
    expect: { result: 'fail', appliedPolicy: 'reject', warnings: ['_dmarc.example.com: pct is historic in RFC 9989 (§9.3, Appendix C.5.2): ignored'] } },
  // Records that do not apply (§4.10.1)
  { name: 'no record anywhere: none', dmarc: {}, from: 'a@mail.example.com', spf: spf('mail.example.com'),
    expect: { result: 'none', appliedPolicy: null, policyDomain: null }, reason: /DMARC does not apply/, queries: 3 },
  { name: 'two records at the only location: none', dmarc: { 'example.com': ['v=DMARC1; p=reject', 'v=DMARC1; p=none'] }, from: 'a@example.com',
    expect: { result: 'none' }, queries: 2 },
  { name: 'invalid p, no rua: permerror (no DMARC processing)', dmarc: { 'example.com': 'v=DMARC1; p=reect' }, from: 'a@example.com',
    expect: { result: 'permerror', appliedPolicy: null, policyDomain: 'example.com', policyTag: null },
    reason: 'the DMARC record at _dmarc.example.com has an invalid p and no valid rua: no DMARC processing (RFC 9989 §4.10.1)' },
  { name: 'invalid p with rua: as if p=none', dmarc: { 'example.com': 'v=DMARC1; p=reect; rua=mailto:d@example.com' }, from: 'a@example.com',
    expect: { result: 'fail', policyTag: 'p', policy: 'none', appliedPolicy: 'none' } },
  { name: 'invalid sp with rua: p=none even for the subdomain', dmarc: { 'example.com': 'v=DMARC1; p=reject; sp=rejekt; rua=mailto:d@example.com' },
    zone: www, from: 'a@www.example.com', expect: { result: 'fail', policyTag: 'p', policy: 'none', appliedPolicy: 'none' } },
  { name: 'no p: as p=none', dmarc: { 'example.com': 'v=DMARC1; rua=mailto:d@example.com' }, from: 'a@example.com', expect: { result: 'fail', policy: 'none' } },
  // From (§5.3.1)
  { name: 'no From', dmarc: P_REJECT, from: [], expect: { result: 'permerror', fromDomain: null, fromError: 'no From' }, queries: 0 },
  { name: 'multiple From fields', dmarc: P_REJECT, from: ['a@example.com', 'b@example.com'], expect: { result: 'permerror', fromError: 'multiple From' },
    reason: 'the message has more than one From header field: DMARC validation is not possible (RFC 9989 §5.3.1, §11.5)', queries: 0 },
  { name: 'one From field, two domains', dmarc: P_REJECT, from: 'a@example.com, b@paypal.com', expect: { result: 'permerror', fromError: 'multiple addresses' }, queries: 0 },
  { name: 'display name that looks like a domain', dmarc: { 'paypal.com': 'v=DMARC1; p=reject' }, from: '"paypal.com" <evil@x.test>',
    expect: { result: 'none', fromDomain: 'x.test' } },
  // Temporary failures (§5.3.6)
  { name: 'SERVFAIL on the policy query', dmarc: {}, zone: { '_dmarc.example.com': { SERVFAIL: true } }, from: 'a@example.com', spf: spf('example.com'),
    expect: { result: 'temperror', appliedPolicy: null }, reason: /^DNS temporary failure for _dmarc\.example\.com: SERVFAIL/, queries: 1 },
  { name: 'TIMEOUT walking up', dmarc: P_REJECT, zone: { '_dmarc.b.example.com': { TIMEOUT: true } }, from: 'a@a.b.example.com',
    expect: { result: 'temperror' }, queries: 2 },
  { name: "the SPF domain's walk fails: no aligned pass is certain", dmarc: P_REJECT, zone: { '_dmarc.bounce.example.com': { SERVFAIL: true } },
    from: 'a@example.com', spf: spf('bounce.example.com'), expect: { result: 'temperror', policyTag: 'p', policy: 'reject' },
    reason: /the Organizational Domain of bounce\.example\.com is unknown/ },
  { name: "the SPF domain's walk fails but DKIM passes", dmarc: P_REJECT, zone: { '_dmarc.bounce.example.com': { SERVFAIL: true } },
    from: 'a@example.com', spf: spf('bounce.example.com'), dkim: [dkim('example.com')], expect: { result: 'pass' }, queries: 1 },
  { name: 'SPF temperror on the From domain, nothing else: temperror', dmarc: P_REJECT, from: 'a@example.com', spf: spf('example.com', 'temperror'),
    expect: { result: 'temperror' }, reason: /SPF \(example\.com\) could not be checked/ },
  { name: 'DKIM temperror on an unrelated domain: fail', dmarc: P_REJECT, from: 'a@example.com', dkim: [dkim('esp.example.net', 'temperror')],
    expect: { result: 'fail' } },
  { name: 'existence unknown when np would apply: temperror', dmarc: { 'example.com': 'v=DMARC1; p=none; np=reject' }, zone: { 'sub.example.com': { SERVFAIL: true } },
    from: 'a@sub.example.com', expect: { result: 'temperror' }, reason: /whether sub\.example\.com exists/ },
  // Query budget
  { name: 'deep From: at most 8 queries, walks share answers', dmarc: P_REJECT, from: 'a@a.b.c.d.e.f.g.h.i.j.example.com', spf: spf('example.com'),
    dkim: [dkim('mail.example.com')], expect: { result: 'pass', organizationalDomain: 'example.com' }, queries: 9 },
];

describe('verifyDmarc', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const records: ZoneData = {};
    for (const [domain, txt] of Object.entries(c.dmarc)) records[`_dmarc.${domain}`] = { TXT: [txt].flat() };
    const dns = zoneResolver({ ...records, ...c.zone });
    const evaluation = await verifyDmarc({ fromHeaders: [c.from].flat(), spf: c.spf ?? noSpf, dkim: c.dkim ?? [] }, dns);
    expect(evaluation).toMatchObject(c.expect);
    if (typeof c.reason === 'string') expect(evaluation.reason).toBe(c.reason);
    else if (c.reason) expect(evaluation.reason).toMatch(c.reason);
    if (c.queries !== undefined) expect(dns.calls).toHaveLength(c.queries);
    expect(evaluation.trace.filter((t) => !t.cached)).toHaveLength(dns.calls.length);
  });

  it('never throws, even when the resolver does', async () => {
    const broken: DnsResolver = {
      query: () => Promise.reject(new Error('socket closed')),
      reverse: () => Promise.reject(new Error('socket closed')),
    };
    const evaluation = await verifyDmarc({ fromHeaders: ['a@example.com'], spf: noSpf, dkim: [] }, broken);
    expect(evaluation).toMatchObject({ result: 'temperror', reason: 'DNS resolver failed: socket closed' });
  });
});
