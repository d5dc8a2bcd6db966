/**
 * Processing limits (RFC 7208 4.6.4), counted and reported: 10 DNS-querying terms, 2 void
 * lookups, 10 MX names, 10 PTR names, the time budget; exp= counts against nothing.
 */
import { describe, expect, it } from 'vitest';
import { checkHost } from '../../../src/auth/spf/evaluate.js';
import type { CheckHostOptions } from '../../../src/auth/spf/types.js';
import { zoneResolver, type ZoneData } from '../../support/dns-server.js';

function run(zone: ZoneData, ip: string, domain = 'example.com', options: CheckHostOptions = {}) {
  return checkHost({ ip, domain, sender: `user@${domain}`, helo: 'mail.example.org' }, zoneResolver(zone), options);
}

const hosts = (n: number, prefix: string): ZoneData =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i + 1}.example.com`, { A: [`198.51.100.${i + 1}`] }]));

describe('DNS-querying terms: at most 10 (RFC 7208 4.6.4)', () => {
  const record = (n: number) => `v=spf1 ${Array.from({ length: n }, (_, i) => `a:h${i + 1}.example.com`).join(' ')} ip4:192.0.2.1 -all`;
  it('10 terms are evaluated and counted', async () => {
    const result = await run({ 'example.com': { TXT: [record(10)] }, ...hosts(10, 'h') }, '192.0.2.1');
    expect(result).toMatchObject({ result: 'pass', lookups: 10, voidLookups: 0, mechanism: 'ip4:192.0.2.1' });
  });
  it('the 11th is a permerror, before it is looked up', async () => {
    const resolver = zoneResolver({ 'example.com': { TXT: [record(11)] }, ...hosts(11, 'h') });
    const result = await checkHost({ ip: '192.0.2.1', domain: 'example.com', sender: 'u@example.com', helo: 'h' }, resolver);
    expect(result).toMatchObject({ result: 'permerror', lookups: 11, mechanism: 'a:h11.example.com' });
    expect(result.reason).toContain('too many DNS lookups: "a:h11.example.com" in example.com is DNS-querying term number 11');
    expect(resolver.calls.map((c) => c.name)).not.toContain('h11.example.com');
  });
  it('include, redirect, mx, ptr and exists count; ip4, ip6, all and exp do not', async () => {
    const zone: ZoneData = {
      'example.com': { TXT: ['v=spf1 ip4:203.0.113.1 ip6:2001:db8::1 include:a.example.com mx ptr exists:e.example.com redirect=r.example.com exp=x.example.com'], MX: [{ exchange: 'm.example.com', preference: 1 }] },
      'a.example.com': { TXT: ['v=spf1 -all'] },
      'm.example.com': { A: ['198.51.100.1'] },
      'e.example.com': { AAAA: ['2001:db8::2'] },
      'r.example.com': { TXT: ['v=spf1 -all exp=x.example.com'] },
      'x.example.com': { TXT: ['nope'] },
    };
    const result = await run(zone, '192.0.2.1');
    expect(result).toMatchObject({ result: 'fail', lookups: 5, explanation: 'nope' });
  });
  it('the limit is configurable', async () => {
    const result = await run({ 'example.com': { TXT: [record(3)] }, ...hosts(3, 'h') }, '192.0.2.1', 'example.com', { maxLookups: 2 });
    expect(result).toMatchObject({ result: 'permerror', lookups: 3 });
    expect(result.reason).toContain('at most 2 of include, a, mx, ptr, exists and redirect');
  });
  it('include loops end at the limit', async () => {
    const result = await run({ 'example.com': { TXT: ['v=spf1 include:b.example.com'] }, 'b.example.com': { TXT: ['v=spf1 include:example.com'] } }, '192.0.2.1');
    expect(result).toMatchObject({ result: 'permerror', lookups: 11 });
  });
});

describe('void lookups: at most 2 (RFC 7208 4.6.4)', () => {
  const zone: ZoneData = {
    'two.example.com': { TXT: ['v=spf1 a:nx1.example.com exists:nx2.example.com ?all'] },
    'three.example.com': { TXT: ['v=spf1 a:nx1.example.com mx:nx2.example.com a:nodata.example.com ?all'] },
    'nodata.example.com': { MX: [{ exchange: 'x.example.com', preference: 1 }] },
    'exp.example.com': { TXT: ['v=spf1 a:nx1.example.com a:nx2.example.com -all exp=nx3.example.com'] },
    'inc.example.com': { TXT: ['v=spf1 a:nx1.example.com a:nx2.example.com include:nx3.example.com ?all'] },
    'mx.example.com': { TXT: ['v=spf1 mx:hosts.example.com a:nx1.example.com ?all'] },
    'hosts.example.com': { MX: [{ exchange: 'nx5.example.com', preference: 1 }, { exchange: 'nx6.example.com', preference: 2 }] },
    'mixed.example.com': { TXT: ['v=spf1 mx:half.example.com a:nx1.example.com a:nx2.example.com ?all'] },
    'half.example.com': { MX: [{ exchange: 'nx5.example.com', preference: 1 }, { exchange: 'm.example.com', preference: 2 }] },
    'm.example.com': { A: ['198.51.100.9'] },
  };
  it('two are tolerated', async () => {
    expect(await run(zone, '192.0.2.1', 'two.example.com')).toMatchObject({ result: 'neutral', voidLookups: 2, lookups: 2 });
  });
  it('a third (NXDOMAIN or NODATA) is a permerror', async () => {
    const result = await run(zone, '192.0.2.1', 'three.example.com');
    expect(result).toMatchObject({ result: 'permerror', voidLookups: 3, mechanism: 'a:nodata.example.com' });
    expect(result.reason).toContain('too many void lookups');
  });
  it('exp= does not count (suite exp-void)', async () => {
    expect(await run(zone, '192.0.2.1', 'exp.example.com')).toMatchObject({ result: 'fail', voidLookups: 2 });
  });
  it('an include of a name without records counts', async () => {
    expect(await run(zone, '192.0.2.1', 'inc.example.com')).toMatchObject({ result: 'permerror', voidLookups: 3 });
  });
  it('an mx term counts once when none of its hosts has an address', async () => {
    expect(await run(zone, '192.0.2.1', 'mx.example.com')).toMatchObject({ result: 'neutral', voidLookups: 2 });
  });
  it('an mx term with one host that has an address is not void', async () => {
    expect(await run(zone, '192.0.2.1', 'mixed.example.com')).toMatchObject({ result: 'neutral', voidLookups: 2 });
  });
  it('the limit is configurable', async () => {
    expect(await run(zone, '192.0.2.1', 'two.example.com', { maxVoidLookups: 1 })).toMatchObject({ result: 'permerror', voidLookups: 2 });
  });
});

describe('MX and PTR names: 10 each (RFC 7208 4.6.4)', () => {
  const mx = (n: number) => Array.from({ length: n }, (_, i) => ({ exchange: `m${i + 1}.example.com`, preference: i }));
  it('10 MX names are looked up', async () => {
    const result = await run({ 'example.com': { TXT: ['v=spf1 mx -all'], MX: mx(10) }, ...hosts(10, 'm') }, '198.51.100.10');
    expect(result).toMatchObject({ result: 'pass', lookups: 1 });
  });
  it('11 MX names make the mx term a permerror', async () => {
    const result = await run({ 'example.com': { TXT: ['v=spf1 mx -all'], MX: mx(11) }, ...hosts(11, 'm') }, '198.51.100.1');
    expect(result.result).toBe('permerror');
    expect(result.reason).toContain('found 11 MX records for example.com; at most 10 may be looked up');
  });
  it('only the first 10 PTR names are used; the rest are ignored, not an error', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `p${i + 1}.example.net`);
    names[10] = 'good.example.com';
    const zone: ZoneData = {
      'example.com': { TXT: ['v=spf1 ptr -all'] },
      '1.2.0.192.in-addr.arpa': { PTR: names },
      'good.example.com': { A: ['192.0.2.1'] },
    };
    expect((await run(zone, '192.0.2.1')).result).toBe('fail');
    expect((await run(zone, '192.0.2.1', 'example.com', { maxPtrNames: 11 })).result).toBe('pass');
  });
});

describe('time budget (RFC 7208 4.6.4: SHOULD, at least 20 s)', () => {
  it('past the budget the result is temperror (the clock is read every fourth query)', async () => {
    let clock = 0;
    const now = () => (clock += 1000); // every reading is one second later
    const record = `v=spf1 ${Array.from({ length: 9 }, (_, i) => `a:x${i + 1}.example.com`).join(' ')} -all`;
    const zone: ZoneData = { 'example.com': { TXT: [record] }, ...hosts(9, 'x') };
    const result = await run(zone, '192.0.2.1', 'example.com', { now, timeoutMs: 500 });
    expect(result).toMatchObject({ result: 'temperror', mechanism: 'a:x7.example.com' });
    expect(result.reason).toContain('past its 500 ms budget');
    const short = await run({ 'example.com': { TXT: ['v=spf1 a:x1.example.com -all'] }, ...hosts(1, 'x') }, '192.0.2.1', 'example.com', { now, timeoutMs: 500 });
    expect(short.result).toBe('fail');
  });
});
