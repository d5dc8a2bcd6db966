/**
 * check_host() results and their reasons (RFC 7208 2.6, 4-6): the words for each of the seven
 * results, include and redirect mapping, DNS errors that give temperror and never another
 * result, the ptr and exp exceptions, IPv4-mapped clients, and the DnsAnswer classification.
 */
import { describe, expect, it } from 'vitest';
import { classifyDnsAnswer, type SpfLookupPurpose } from '../../../src/auth/spf/dns.js';
import { checkHost } from '../../../src/auth/spf/evaluate.js';
import type { SpfResultCode } from '../../../src/auth/spf/types.js';
import type { DnsAnswer } from '../../../src/dns/types.js';
import { zoneResolver, type ZoneData } from '../../support/dns-server.js';

const zone: ZoneData = {
  'example.com': { TXT: ['v=spf1 ip4:192.0.2.0/24 a:mail.example.com ?ip4:198.51.100.0/24 include:_spf.example.net ~ip4:203.0.113.0/28 -all exp=why.example.com'] },
  'mail.example.com': { A: ['192.0.2.200', '198.51.100.77'] },
  '_spf.example.net': { TXT: ['v=spf1 ip6:2001:db8::/32 -all'] },
  'why.example.com': { TXT: ['%{i} may not send for %{d}; see https://example.com/spf?s=%{S}'] },
  'neutral.example.com': { TXT: ['v=spf1 ip4:192.0.2.1'] },
  'redirect.example.com': { TXT: ['v=spf1 ip4:203.0.113.99 redirect=example.com exp=ignored.example.com'] },
  'ignored.example.com': { TXT: ['from the record that redirected'] },
  'to-none.example.com': { TXT: ['v=spf1 redirect=nothing.example.com'] },
  'all-and-redirect.example.com': { TXT: ['v=spf1 ?all redirect=example.com'] },
  'two.example.com': { TXT: ['v=spf1 -all', 'v=spf1 +all'] },
  'servfail.example.com': { SERVFAIL: true },
  'tf-a.example.com': { TXT: ['v=spf1 a:servfail.example.com +all'] },
  'tf-mx-host.example.com': { TXT: ['v=spf1 mx +all'], MX: [{ exchange: 'servfail.example.com', preference: 1 }] },
  'tf-exists.example.com': { TXT: ['v=spf1 exists:servfail.example.com +all'] },
  'tf-include.example.com': { TXT: ['v=spf1 include:servfail.example.com +all'] },
  'tf-ptr.example.com': { TXT: ['v=spf1 ptr ?all'] },
  'tf-exp.example.com': { TXT: ['v=spf1 -all exp=servfail.example.com'] },
  'inc-none.example.com': { TXT: ['v=spf1 include:nothing.example.com +all'] },
  'inc-perm.example.com': { TXT: ['v=spf1 include:two.example.com +all'] },
  'inc-soft.example.com': { TXT: ['v=spf1 include:soft.example.com -all'] },
  'inc-neutral.example.com': { TXT: ['v=spf1 include:neutral.example.com -all'] },
  'soft.example.com': { TXT: ['v=spf1 ~all'] },
  'mapped.example.com': { TXT: ['v=spf1 ip6:::ffff:0:0/96 ip4:192.0.2.1 -all'] },
};

async function check(ip: string, domain: string, resolver = zoneResolver(zone)) {
  return checkHost({ ip, domain, sender: `Jane.Doe@${domain}`, helo: 'mta.example.org' }, resolver, { receiver: 'mx.kagami.test' });
}

describe('the seven results and their reasons', () => {
  it.each<[string, string, SpfResultCode, string]>([
    ['192.0.2.7', 'example.com', 'pass', '192.0.2.7 is permitted by example.com: ip4:192.0.2.0/24 matched'],
    ['198.51.100.77', 'example.com', 'pass', '198.51.100.77 is permitted by example.com: a:mail.example.com matched (mail.example.com has 198.51.100.77)'],
    ['198.51.100.1', 'example.com', 'neutral', 'example.com makes no assertion about 198.51.100.1 (neutral): ?ip4:198.51.100.0/24 matched'],
    ['2001:db8::5', 'example.com', 'pass', '2001:db8::5 is permitted by example.com: include:_spf.example.net matched (ip6:2001:db8::/32 matched in _spf.example.net)'],
    ['203.0.113.3', 'example.com', 'softfail', '203.0.113.3 is probably not permitted by example.com (softfail, "~"): ~ip4:203.0.113.0/28 matched'],
    ['203.0.113.99', 'example.com', 'fail', '203.0.113.99 is not permitted by example.com: -all matched'],
    ['192.0.2.9', 'neutral.example.com', 'neutral', 'neutral.example.com makes no assertion about 192.0.2.9 (neutral): no mechanism matched and there is no redirect=, so the result is the default, neutral (RFC 7208 4.7)'],
    ['192.0.2.9', 'nothing.example.com', 'none', 'no SPF policy to check: nothing.example.com has no SPF record (TXT lookup: NXDOMAIN) (RFC 7208 4.4)'],
    ['192.0.2.9', 'mail.example.com', 'none', 'no SPF policy to check: mail.example.com has no SPF record (TXT lookup: no TXT records) (RFC 7208 4.4)'],
    ['192.0.2.9', 'localhost', 'none', 'no SPF policy to check: "localhost" is not a valid domain name: it is not a multi-label domain name (RFC 7208 4.3)'],
    ['192.0.2.9', '[192.0.2.9]', 'none', 'it is an address literal, not a domain'],
    ['192.0.2.9', 'two.example.com', 'permerror', 'the SPF policy of two.example.com cannot be applied (permerror): two.example.com publishes 2 SPF records; there must be exactly one (RFC 7208 4.5)'],
    ['192.0.2.9', 'tf-a.example.com', 'temperror', 'the SPF check of tf-a.example.com could not finish (temperror), try again later: A lookup for servfail.example.com failed: SERVFAIL'],
  ])('%s for %s → %s', async (ip, domain, result, reason) => {
    const r = await check(ip, domain);
    expect(r.result).toBe(result);
    expect(r.reason).toContain(reason);
    expect(r.domain).toBe(domain);
  });

  it('fail carries the expanded exp= explanation (RFC 7208 6.2)', async () => {
    const r = await check('203.0.113.99', 'example.com');
    expect(r.result === 'fail' && r.explanation).toBe('203.0.113.99 may not send for example.com; see https://example.com/spf?s=Jane.Doe%40example.com');
  });
  it('explanation can be switched off', async () => {
    const r = await checkHost({ ip: '203.0.113.99', domain: 'example.com', sender: 'a@example.com', helo: 'h' }, zoneResolver(zone), { explanation: false });
    expect(r.result === 'fail' && r.explanation).toBeUndefined();
  });
  it('a non-address is a caller bug: the promise rejects with a TypeError', async () => {
    await expect(check('mail.example.com', 'example.com')).rejects.toThrow(TypeError);
  });
});

describe('redirect= (RFC 7208 6.1)', () => {
  it('takes the result of the target, and the target\'s exp=, not its own', async () => {
    const r = await check('192.0.2.250', 'redirect.example.com');
    expect(r).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.0/24' });
    expect(r.reason).toBe('192.0.2.250 is permitted by redirect.example.com: redirect=example.com → ip4:192.0.2.0/24 matched');
    const f = await check('203.0.113.200', 'redirect.example.com');
    expect(f.result === 'fail' && f.explanation).toBe('203.0.113.200 may not send for example.com; see https://example.com/spf?s=Jane.Doe%40redirect.example.com');
  });
  it('to a domain without SPF is permerror', async () => {
    const r = await check('192.0.2.1', 'to-none.example.com');
    expect(r.result).toBe('permerror');
    expect(r.reason).toContain('redirect=nothing.example.com leads nowhere');
  });
  it('is ignored when the record has "all"', async () => {
    const resolver = zoneResolver(zone);
    const r = await check('192.0.2.1', 'all-and-redirect.example.com', resolver);
    expect(r).toMatchObject({ result: 'neutral', mechanism: '?all', lookups: 0 });
    expect(resolver.calls).toHaveLength(1);
  });
});

describe('include (RFC 7208 5.2): the table of results', () => {
  it.each<[string, SpfResultCode, string]>([
    ['inc-soft.example.com', 'fail', 'softfail inside: no match'],
    ['inc-neutral.example.com', 'fail', 'neutral inside: no match'],
    ['inc-none.example.com', 'permerror', 'include:nothing.example.com found no SPF record'],
    ['inc-perm.example.com', 'permerror', 'include:two.example.com → two.example.com publishes 2 SPF records'],
    ['tf-include.example.com', 'temperror', 'include:servfail.example.com → the TXT lookup for servfail.example.com failed'],
  ])('%s → %s (%s)', async (domain, result, words) => {
    const r = await check('192.0.2.9', domain);
    expect(r.result).toBe(result);
    if (result !== 'fail') expect(r.reason).toContain(words);
  });
});

describe('DNS errors: temperror, never another result (RFC 7208 5), with the ptr and exp exceptions', () => {
  it.each([['tf-a.example.com'], ['tf-mx-host.example.com'], ['tf-exists.example.com'], ['tf-include.example.com'], ['servfail.example.com']])(
    '%s → temperror, although "+all" follows',
    async (domain) => expect((await check('192.0.2.1', domain)).result).toBe('temperror'),
  );
  it('a failed PTR lookup only fails to match (RFC 7208 5.5)', async () => {
    const resolver = zoneResolver({ ...zone, '1.2.0.192.in-addr.arpa': { SERVFAIL: true } });
    expect((await check('192.0.2.1', 'tf-ptr.example.com', resolver)).result).toBe('neutral');
  });
  it('a PTR name whose address lookup fails is skipped, and the search goes on (RFC 7208 5.5)', async () => {
    const resolver = zoneResolver({
      ...zone,
      '1.2.0.192.in-addr.arpa': { PTR: ['a.tf-ptr.example.com', 'b.tf-ptr.example.com'] },
      'a.tf-ptr.example.com': { SERVFAIL: true },
      'b.tf-ptr.example.com': { A: ['192.0.2.1'] },
    });
    const r = await check('192.0.2.1', 'tf-ptr.example.com', resolver);
    expect(r).toMatchObject({ result: 'pass', mechanism: 'ptr' });
    expect(r.reason).toContain('192.0.2.1 has the validated name b.tf-ptr.example.com');
  });
  it('a failed exp= lookup only loses the explanation (RFC 7208 6.2)', async () => {
    const r = await check('192.0.2.1', 'tf-exp.example.com');
    expect(r.result).toBe('fail');
    expect(r.result === 'fail' && r.explanation).toBeUndefined();
    expect(r.trace.at(-1)?.note).toContain('explanation ignored');
  });

  const answers: Record<'records' | 'nxdomain' | 'nodata' | 'tempfail', DnsAnswer<string>> = {
    records: { kind: 'records', records: ['x'], ttl: 1, authenticated: false },
    nxdomain: { kind: 'nxdomain', ttl: 1 },
    nodata: { kind: 'nodata', ttl: 1 },
    tempfail: { kind: 'tempfail', reason: 'timeout' },
  };
  it.each<[SpfLookupPurpose, keyof typeof answers, string]>([
    ['record', 'records', 'records'],
    ['record', 'nxdomain', 'empty'],
    ['record', 'nodata', 'empty'],
    ['record', 'tempfail', 'temperror'],
    ['term', 'nxdomain', 'empty'],
    ['term', 'tempfail', 'temperror'],
    ['mx-host', 'tempfail', 'temperror'],
    ['ptr', 'tempfail', 'empty'],
    ['ptr-validate', 'tempfail', 'empty'],
    ['exp', 'tempfail', 'empty'],
    ['exp', 'records', 'records'],
  ])('classifyDnsAnswer(%s, %s) → %s', (purpose, kind, verdict) => {
    expect(classifyDnsAnswer(answers[kind], purpose)).toBe(verdict);
  });
});

describe('IPv4-mapped IPv6 clients are IPv4 (RFC 7208 5)', () => {
  it('match ip4, never ip6', async () => {
    const r = await check('::ffff:192.0.2.1', 'mapped.example.com');
    expect(r).toMatchObject({ result: 'pass', mechanism: 'ip4:192.0.2.1' });
    expect(r.reason).toContain('192.0.2.1 is permitted');
  });
  it('look up A, not AAAA, for "a"', async () => {
    const resolver = zoneResolver(zone);
    await check('::ffff:198.51.100.77', 'example.com', resolver);
    expect(resolver.calls).toContainEqual({ name: 'mail.example.com', type: 'A' });
  });
});
