/**
 * The DNS Tree Walk (RFC 9989 §4.10), Policy Discovery (§4.10.1) and Organizational Domain
 * discovery (§4.10.2), against the in-memory zone; DNS queries counted through `calls`.
 * Examples are the RFC's own where it gives them (§4.10, §4.10.2, §5.1.8, Appendix B.4).
 */
import { describe, expect, it } from 'vitest';
import { discoverPolicy, findOrganizationalDomain, treeWalkNames } from '../../../src/auth/dmarc/discover.js';
import { zoneResolver, type ZoneData } from '../../../src/dns/zone.js';

/** A zone with one DMARC record (or several) per listed domain. */
function zone(records: Record<string, string | readonly string[]>, extra: ZoneData = {}): ZoneData {
  const data: ZoneData = {};
  for (const [domain, txt] of Object.entries(records)) data[`_dmarc.${domain}`] = { TXT: [txt].flat() };
  return { ...data, ...extra };
}
const txtCalls = (calls: ReadonlyArray<{ name: string; type: string }>): string[] =>
  calls.filter((c) => c.type === 'TXT').map((c) => c.name);

describe('treeWalkNames (§4.10 steps 3, 4, 7)', () => {
  it.each([
    ['com', ['com']],
    ['example.com', ['example.com', 'com']],
    ['a.example.com', ['a.example.com', 'example.com', 'com']],
    ['a.b.example.com', ['a.b.example.com', 'b.example.com', 'example.com', 'com']],
    ['a.b.c.example.com', 5],
    ['a.b.c.d.example.com', 6],
    ['a.b.c.d.e.example.com', 7],
    ['a.b.c.d.e.f.example.com', 8],
    ['Mail.Example.COM.', ['mail.example.com', 'example.com', 'com']],
  ])('%s', (domain, expected) => {
    const names = treeWalkNames(domain);
    if (typeof expected === 'number') {
      // Label counts: n, n-1, ... 1 (n ≤ 8): one query per label.
      expect(names.map((n) => n.split('.').length)).toEqual([...Array(expected).keys()].map((i) => expected - i));
    } else expect(names).toEqual(expected);
  });

  it.each([9, 10, 13, 40])('%i labels: the full name, then 7, 6, ... 1 labels (8 queries)', (n) => {
    const domain = [...Array(n).keys()].map((i) => `l${i}`).join('.');
    expect(treeWalkNames(domain).map((x) => x.split('.').length)).toEqual([n, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('eight labels: the immediate parent is the seven-label name', () => {
    expect(treeWalkNames('a.b.c.d.e.f.example.com')[1]).toBe('b.c.d.e.f.example.com');
  });

  it('§4.10: a.b.c.d.e.f.g.h.i.j.mail.example.com needs at most these eight queries', () => {
    expect(treeWalkNames('a.b.c.d.e.f.g.h.i.j.mail.example.com')).toEqual([
      'a.b.c.d.e.f.g.h.i.j.mail.example.com',
      'g.h.i.j.mail.example.com',
      'h.i.j.mail.example.com',
      'i.j.mail.example.com',
      'j.mail.example.com',
      'mail.example.com',
      'example.com',
      'com',
    ]);
  });

  it('§5.1.8: the zone cut at b.c.d.e.f.g.example.com is never queried', () => {
    const names = treeWalkNames('mail.a.b.c.d.e.f.g.example.com');
    expect(names).toHaveLength(8);
    expect(names).not.toContain('b.c.d.e.f.g.example.com');
    expect(names[1]).toBe('c.d.e.f.g.example.com');
  });
});

describe('discoverPolicy (§4.10.1)', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 30])('no record anywhere, %i labels: none after min(labels, 8) queries', async (n) => {
    const domain = [...Array(n - 1).keys()].map((i) => `l${i}`).concat('test').join('.');
    const dns = zoneResolver({});
    const found = await discoverPolicy(domain, dns);
    expect(found.kind).toBe('none');
    expect(dns.calls).toHaveLength(Math.min(n, 8));
    expect(dns.calls.every((c) => c.type === 'TXT' && c.name.startsWith('_dmarc.'))).toBe(true);
  });

  it.each([
    // [case, zone records, From domain, policy domain, source, organizational domain, TXT queries]
    ['own record: one query', { 'example.com': 'v=DMARC1; p=reject' }, 'example.com', 'example.com', 'author', null, 1],
    ['own record with psd=n settles the Organizational Domain', { 'mail.example.com': 'v=DMARC1; p=none; psd=n' }, 'mail.example.com', 'mail.example.com', 'author', 'mail.example.com', 1],
    ['parent record: walk to the top', { 'example.com': 'v=DMARC1; p=reject' }, 'a.b.example.com', 'example.com', 'organizational', 'example.com', 4],
    ['§4.10.2: records at mail.example.com and example.com → example.com', {
      'mail.example.com': 'v=DMARC1; p=none', 'example.com': 'v=DMARC1; p=reject',
    }, 'a.mail.example.com', 'example.com', 'organizational', 'example.com', 4],
    ['§4.10.2: psd=n at mail.example.com stops the walk', {
      'mail.example.com': 'v=DMARC1; p=quarantine; psd=n', 'example.com': 'v=DMARC1; p=reject',
    }, 'a.mail.example.com', 'mail.example.com', 'organizational', 'mail.example.com', 2],
    ['§4.10.2: only _dmarc.com with psd=y → PSD policy, Organizational Domain example.com', {
      com: 'v=DMARC1; p=reject; psd=y',
    }, 'a.mail.example.com', 'com', 'psd', 'example.com', 4],
    ['PSD record and an Organizational Domain record: the latter applies (§4.10.1 note)', {
      'bank.example': 'v=DMARC1; p=reject; psd=y', 'giant.bank.example': 'v=DMARC1; p=none',
    }, 'www.giant.bank.example', 'giant.bank.example', 'organizational', 'giant.bank.example', 3],
    ['psd=u (explicit) walks on', { 'mail.example.com': 'v=DMARC1; p=none; psd=u', 'example.com': 'v=DMARC1; p=reject' }, 'x.mail.example.com', 'example.com', 'organizational', 'example.com', 4],
    ['B.4.2 deep walk: 8 queries', { 'example.com': 'v=DMARC1; p=reject' }, 'a.b.c.d.e.f.g.h.i.j.k.example.com', 'example.com', 'organizational', 'example.com', 8],
    ['§5.1.8: psd=n below the seven-label cut is never seen', {
      'b.c.d.e.f.g.example.com': 'v=DMARC1; p=none; psd=n', 'example.com': 'v=DMARC1; p=reject',
    }, 'mail.a.b.c.d.e.f.g.example.com', 'example.com', 'organizational', 'example.com', 8],
    ['§5.1.8: a record at the long Author Domain itself is always found', {
      'mail.a.b.c.d.e.f.g.example.com': 'v=DMARC1; p=quarantine', 'example.com': 'v=DMARC1; p=reject',
    }, 'mail.a.b.c.d.e.f.g.example.com', 'mail.a.b.c.d.e.f.g.example.com', 'author', null, 1],
    ['two DMARC records at the Author Domain: discarded, parent applies', {
      'a.example.com': ['v=DMARC1; p=none', 'v=DMARC1; p=reject'], 'example.com': 'v=DMARC1; p=quarantine',
    }, 'a.example.com', 'example.com', 'organizational', 'example.com', 3],
    ['non-DMARC TXT next to the record is ignored', { 'example.com': ['hello world', 'v=spf1 -all', 'v=DMARC1; p=reject'] }, 'example.com', 'example.com', 'author', null, 1],
    ['a record with an invalid p is still the record found', { 'a.example.com': 'v=DMARC1; p=bogus', 'example.com': 'v=DMARC1; p=reject' }, 'a.example.com', 'a.example.com', 'author', null, 1],
  ] as const)('%s', async (_name, records, from, policyDomain, source, org, queries) => {
    const dns = zoneResolver(zone(records));
    const found = await discoverPolicy(from, dns);
    expect(found).toMatchObject({ kind: 'found', policyDomain, source, organizationalDomain: org });
    expect(txtCalls(dns.calls)).toHaveLength(queries);
    if (found.kind === 'found') expect(found.trace).toHaveLength(queries);
  });

  it('several DMARC records at the only location: none, with a warning', async () => {
    const dns = zoneResolver(zone({ 'example.com': ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] }));
    const found = await discoverPolicy('example.com', dns);
    expect(found.kind).toBe('none');
    expect(found.warnings).toEqual(['_dmarc.example.com has 2 DMARC records: all discarded (RFC 9989 §4.10)']);
  });

  it('the trace says what each query found', async () => {
    const dns = zoneResolver(zone({ com: 'v=DMARC1; p=reject; psd=y' }, { '_dmarc.example.com': { TXT: ['not dmarc'] } }));
    const found = await discoverPolicy('example.com', dns);
    expect(found.trace.map((t) => [t.name, t.outcome, t.detail])).toEqual([
      ['_dmarc.example.com', 'records', '1 TXT record(s), none DMARC'],
      ['_dmarc.com', 'records', '1 DMARC record (psd=y)'],
    ]);
  });

  describe('existence of the From domain, for np (§3.2.13, Appendix A.4)', () => {
    const records = { 'example.com': 'v=DMARC1; p=reject; sp=quarantine; np=none' };
    it.each([
      ['A record: exists after one query', { 'www.example.com': { A: ['192.0.2.1'] } }, 'www.example.com', 'exists', ['A']],
      ['MX only: NODATA for A proves it exists', { 'mx-only.example.com': { MX: [{ exchange: 'mx.example.com', preference: 1 }] } }, 'mx-only.example.com', 'exists', ['A']],
      ['TXT only: NODATA for A still proves it exists', { 'txt.example.com': { TXT: ['x'] } }, 'txt.example.com', 'exists', ['A']],
      ['empty non-terminal exists', { 'a.ent.example.com': { A: ['192.0.2.1'] } }, 'ent.example.com', 'exists', ['A']],
      ['NXDOMAIN for A, AAAA and MX', {}, 'nx.example.com', 'nxdomain', ['A', 'AAAA', 'MX']],
      ['SERVFAIL: unknown', { 'broken.example.com': { SERVFAIL: true } }, 'broken.example.com', 'tempfail', ['A', 'AAAA', 'MX']],
    ] as const)('%s', async (_name, extra, from, exists, types) => {
      const dns = zoneResolver(zone(records, extra as ZoneData));
      const found = await discoverPolicy(from, dns);
      expect(found).toMatchObject({ kind: 'found', fromDomainExists: exists });
      expect(dns.calls.filter((c) => c.type !== 'TXT').map((c) => c.type)).toEqual(types);
    });

    it('not checked without np (sp or p applies either way)', async () => {
      const dns = zoneResolver(zone({ 'example.com': 'v=DMARC1; p=reject; sp=quarantine' }));
      expect(await discoverPolicy('nx.example.com', dns)).toMatchObject({ fromDomainExists: 'not-checked' });
      expect(dns.calls.every((c) => c.type === 'TXT')).toBe(true);
    });

    it('not checked for the policy domain itself', async () => {
      const dns = zoneResolver(zone(records));
      expect(await discoverPolicy('example.com', dns)).toMatchObject({ fromDomainExists: 'not-checked' });
    });
  });

  describe('a temporary DNS failure at any step → temperror (§5.3.6)', () => {
    const from = 'a.b.c.example.com';
    const names = treeWalkNames(from); // 5 names
    for (const failure of ['SERVFAIL', 'TIMEOUT'] as const) {
      it.each(names.map((n, i) => [i + 1, n] as const))(`${failure} at step %i (_dmarc.%s)`, async (step, name) => {
        const dns = zoneResolver(zone({ 'example.com': 'v=DMARC1; p=reject' }, { [`_dmarc.${name}`]: { [failure]: true } }));
        const found = await discoverPolicy(from, dns);
        expect(found).toMatchObject({ kind: 'temperror' });
        expect(found.kind === 'temperror' && found.reason).toContain(`_dmarc.${name}`);
        expect(dns.calls).toHaveLength(step);
        expect(found.trace.at(-1)).toMatchObject({ name: `_dmarc.${name}`, outcome: 'tempfail' });
      });
    }
  });
});

describe('findOrganizationalDomain (§4.10.2)', () => {
  it.each([
    // [case, records, domain, organizational domain, rule, TXT queries]
    ['no record: the domain itself', {}, 'mail.example.com', 'mail.example.com', 'no-record', 3],
    ['fewest labels wins', { 'mail.example.com': 'v=DMARC1; p=none', 'example.com': 'v=DMARC1; p=none' }, 'a.mail.example.com', 'example.com', 'fewest-labels', 4],
    ['psd=n', { 'mail.example.com': 'v=DMARC1; p=none; psd=n', 'example.com': 'v=DMARC1; p=none' }, 'a.mail.example.com', 'mail.example.com', 'psd=n', 2],
    ['psd=y at com → one label below', { com: 'v=DMARC1; p=none; psd=y' }, 'a.mail.example.com', 'example.com', 'psd=y', 4],
    ['psd=y where the walk starts does not count', { 'bank.example': 'v=DMARC1; p=none; psd=y' }, 'bank.example', 'bank.example', 'fewest-labels', 1],
    ['B.4.3 Author Domain', { 'giant.bank.example': 'v=DMARC1; p=reject', 'bank.example': 'v=DMARC1; p=none; psd=y' }, 'giant.bank.example', 'giant.bank.example', 'psd=y', 2],
    ['B.4.3 MAIL FROM domain', { 'giant.bank.example': 'v=DMARC1; p=reject', 'bank.example': 'v=DMARC1; p=none; psd=y' }, 'mail.giant.bank.example', 'giant.bank.example', 'psd=y', 3],
    ['B.4.3 DKIM domain', { 'giant.bank.example': 'v=DMARC1; p=reject', 'bank.example': 'v=DMARC1; p=none; psd=y' }, 'mail.mega.bank.example', 'mega.bank.example', 'psd=y', 3],
    ['B.4.1 DKIM signing.example.com', { 'example.com': 'v=DMARC1; p=none', 'signing.example.com': 'v=DMARC1; p=none' }, 'signing.example.com', 'example.com', 'fewest-labels', 3],
    ['a psd=n record below the seven-label cut is not seen', { 'b.c.d.e.f.g.example.com': 'v=DMARC1; psd=n', 'example.com': 'v=DMARC1' }, 'mail.a.b.c.d.e.f.g.example.com', 'example.com', 'fewest-labels', 8],
  ] as const)('%s', async (_name, records, domain, org, rule, queries) => {
    const dns = zoneResolver(zone(records));
    const found = await findOrganizationalDomain(domain, dns);
    expect(found).toMatchObject({ kind: 'found', organizationalDomain: org, rule });
    expect(dns.calls).toHaveLength(queries);
  });

  it('temperror when a step fails', async () => {
    const dns = zoneResolver(zone({ 'example.com': 'v=DMARC1; p=none' }, { '_dmarc.com': { TIMEOUT: true } }));
    expect(await findOrganizationalDomain('mail.example.com', dns)).toMatchObject({ kind: 'temperror', domain: 'mail.example.com' });
    expect(dns.calls).toHaveLength(3);
  });
});
