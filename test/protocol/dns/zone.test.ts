import { describe, expect, it } from 'vitest';
import { lookupZone, MAX_CNAME_CHAIN, zoneResolver, type ZoneData } from '../../../src/dns/zone.js';

const zone: ZoneData = {
  'example.com': {
    A: ['192.0.2.1'],
    TXT: ['v=spf1 -all', ['a', 'b']],
    MX: [{ exchange: 'MX.example.com.', preference: 5 }],
    ttl: 600,
  },
  'deep.ent.example.com': { A: ['192.0.2.2'] },
  '*.wild.example.com': { TXT: ['wild'], ttl: 30 },
  'real.wild.example.com': { A: ['192.0.2.3'] },
  'x.sub.wild.example.com': { A: ['192.0.2.4'] },
  'www.example.com': { CNAME: 'example.com', ttl: 60 },
  'two.example.com': { CNAME: 'www.example.com' },
  'dangling.example.com': { CNAME: 'nowhere.example.com' },
  'to-broken.example.com': { CNAME: 'broken.example.com' },
  'broken.example.com': { SERVFAIL: true },
  'silent.example.com': { TIMEOUT: true },
  'big.example.com': { TRUNCATE: true, TXT: ['large'] },
  'loop1.example.com': { CNAME: 'loop2.example.com' },
  'loop2.example.com': { CNAME: 'loop1.example.com' },
  'UPPER.Example.com.': { A: ['192.0.2.5'] },
};

describe('lookupZone', () => {
  it.each([
    // name, type, rcode, answer data, negative TTL
    ['example.com', 'A', 'NOERROR', ['192.0.2.1'], 600],
    ['EXAMPLE.COM.', 'A', 'NOERROR', ['192.0.2.1'], 600],
    ['example.com', 'TXT', 'NOERROR', [['v=spf1 -all'], ['a', 'b']], 600],
    ['example.com', 'MX', 'NOERROR', [{ exchange: 'MX.example.com.', preference: 5 }], 600],
    ['example.com', 'AAAA', 'NOERROR', [], 600],
    ['example.com', 'SOA', 'NOERROR', [], 600],
    ['missing.example.com', 'A', 'NXDOMAIN', [], 300],
    ['ent.example.com', 'A', 'NOERROR', [], 300],
    ['com', 'TXT', 'NOERROR', [], 300],
    ['below.deep.ent.example.com', 'A', 'NXDOMAIN', [], 300],
    ['anything.wild.example.com', 'TXT', 'NOERROR', [['wild']], 30],
    ['a.b.wild.example.com', 'TXT', 'NOERROR', [['wild']], 30],
    ['real.wild.example.com', 'TXT', 'NOERROR', [], 300],
    ['sub.wild.example.com', 'TXT', 'NOERROR', [], 300],
    ['y.sub.wild.example.com', 'TXT', 'NXDOMAIN', [], 300],
    ['*.wild.example.com', 'TXT', 'NOERROR', [['wild']], 30],
    ['broken.example.com', 'A', 'SERVFAIL', [], 300],
    ['silent.example.com', 'A', 'TIMEOUT', [], 300],
    ['upper.example.com', 'A', 'NOERROR', ['192.0.2.5'], 300],
  ])('%s %s → %s', (name, type, rcode, data, negativeTtl) => {
    const lookup = lookupZone(zone, name, type);
    expect(lookup.rcode).toBe(rcode);
    expect(lookup.answers.map((rr) => rr.data)).toEqual(data);
    expect(lookup.negativeTtl).toBe(negativeTtl);
  });

  it('synthesises wildcard answers under the asked name (RFC 4592 3.4.3)', () => {
    expect(lookupZone(zone, 'Foo.Wild.example.com', 'TXT').answers).toEqual([
      { name: 'foo.wild.example.com', type: 'TXT', ttl: 30, data: ['wild'] },
    ]);
  });

  it('follows CNAME chains, CNAMEs first', () => {
    expect(lookupZone(zone, 'two.example.com', 'A')).toEqual({
      rcode: 'NOERROR',
      truncate: false,
      negativeTtl: 600,
      answers: [
        { name: 'two.example.com', type: 'CNAME', ttl: 300, data: 'www.example.com' },
        { name: 'www.example.com', type: 'CNAME', ttl: 60, data: 'example.com' },
        { name: 'example.com', type: 'A', ttl: 600, data: '192.0.2.1' },
      ],
    });
    expect(lookupZone(zone, 'www.example.com', 'CNAME').answers).toEqual([
      { name: 'www.example.com', type: 'CNAME', ttl: 60, data: 'example.com' },
    ]);
  });

  it('takes the rcode of the last name in a chain (RFC 6604 2.1)', () => {
    const dangling = lookupZone(zone, 'dangling.example.com', 'A');
    expect(dangling.rcode).toBe('NXDOMAIN');
    expect(dangling.answers.map((rr) => rr.type)).toEqual(['CNAME']);
    expect(lookupZone(zone, 'to-broken.example.com', 'A').rcode).toBe('SERVFAIL');
  });

  it('stops at CNAME loops and long chains', () => {
    expect(lookupZone(zone, 'loop1.example.com', 'A')).toMatchObject({ rcode: 'NOERROR' });
    expect(lookupZone(zone, 'loop1.example.com', 'A').answers).toHaveLength(2);
    const long: ZoneData = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`c${i}.example.com`, { CNAME: `c${i + 1}.example.com` }]),
    );
    expect(lookupZone(long, 'c0.example.com', 'A').answers.length).toBeLessThanOrEqual(MAX_CNAME_CHAIN + 1);
  });

  it('reports TRUNCATE entries with their data', () => {
    expect(lookupZone(zone, 'big.example.com', 'TXT')).toMatchObject({
      rcode: 'NOERROR',
      truncate: true,
      answers: [{ data: ['large'] }],
    });
  });
});

describe('zoneResolver', () => {
  it('records every call with the name as asked', async () => {
    const resolver = zoneResolver(zone);
    await resolver.query('Example.com', 'TXT');
    await resolver.reverse('192.0.2.1');
    expect(resolver.calls).toEqual([
      { name: 'Example.com', type: 'TXT' },
      { name: '1.2.0.192.in-addr.arpa', type: 'PTR' },
    ]);
  });

  it('decodes records the way the stub resolver does', async () => {
    const resolver = zoneResolver(zone);
    expect(await resolver.query('example.com', 'TXT')).toEqual({
      kind: 'records',
      records: ['v=spf1 -all', 'ab'],
      ttl: 600,
      authenticated: false,
    });
    expect(await resolver.query('www.example.com', 'MX')).toEqual({
      kind: 'records',
      records: [{ exchange: 'mx.example.com', preference: 5 }],
      ttl: 60,
      authenticated: false,
    });
    expect(await resolver.query('missing.example.com', 'A')).toEqual({ kind: 'nxdomain', ttl: 300 });
    expect(await resolver.query('broken.example.com', 'A')).toMatchObject({ kind: 'tempfail' });
    expect(await resolver.query('silent.example.com', 'A')).toMatchObject({ kind: 'tempfail' });
    expect(await resolver.reverse('not an ip')).toEqual({ kind: 'nxdomain', ttl: 0 });
  });

  it('answers from the new zone after setZone', async () => {
    const resolver = zoneResolver(zone);
    resolver.setZone({ 'example.com': { A: ['198.51.100.1'] } });
    expect(await resolver.query('example.com', 'A')).toMatchObject({ records: ['198.51.100.1'] });
  });
});
