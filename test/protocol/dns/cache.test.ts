import { describe, expect, it } from 'vitest';
import { withCache, type CacheOptions } from '../../../src/dns/cache.js';
import type { DnsResolver } from '../../../src/dns/types.js';
import { zoneResolver, type ZoneData } from '../../../src/dns/zone.js';

const zone: ZoneData = {
  'example.com': { A: ['192.0.2.1'], TXT: ['v=spf1 -all'], ttl: 300 },
  'long.example.com': { A: ['192.0.2.2'], ttl: 100_000 },
  'zero.example.com': { A: ['192.0.2.3'], ttl: 0 },
  'quiet.example.com': { A: ['192.0.2.4'], ttl: 3600 },
  'broken.example.com': { SERVFAIL: true },
  '1.2.0.192.in-addr.arpa': { PTR: ['example.com'] },
};

function setup(options: CacheOptions = {}) {
  const clock = { ms: 1_000_000 };
  const upstream = zoneResolver(zone);
  const cache = withCache(upstream, { now: () => clock.ms, ...options });
  const advance = (seconds: number): void => {
    clock.ms += seconds * 1000;
  };
  return { cache, upstream, advance };
}

describe('withCache', () => {
  it('answers a repeated query from the cache, whatever the case of the name', async () => {
    const { cache, upstream } = setup();
    const first = await cache.query('example.com', 'A');
    expect(await cache.query('EXAMPLE.com.', 'A')).toEqual(first);
    expect(upstream.calls).toHaveLength(1);
    await cache.query('example.com', 'TXT'); // another type is another key
    expect(upstream.calls).toHaveLength(2);
    expect(cache.stats()).toEqual({ hits: 1, misses: 2, size: 2, coalesced: 0 });
  });

  it('counts the TTL down and asks again when it runs out', async () => {
    const { cache, upstream, advance } = setup();
    expect(await cache.query('example.com', 'A')).toMatchObject({ kind: 'records', ttl: 300 });
    advance(100);
    expect(await cache.query('example.com', 'A')).toMatchObject({ kind: 'records', ttl: 200 });
    advance(199.5);
    expect(await cache.query('example.com', 'A')).toMatchObject({ ttl: 1 });
    expect(upstream.calls).toHaveLength(1);
    advance(0.5);
    expect(await cache.query('example.com', 'A')).toMatchObject({ kind: 'records', ttl: 300 });
    expect(upstream.calls).toHaveLength(2);
  });

  it('caches nxdomain and nodata, capped by negativeTtlCap', async () => {
    const { cache, upstream, advance } = setup({ negativeTtlCap: 600 });
    expect(await cache.query('missing.example.com', 'A')).toEqual({ kind: 'nxdomain', ttl: 300 });
    expect(await cache.query('quiet.example.com', 'TXT')).toEqual({ kind: 'nodata', ttl: 600 });
    advance(299);
    expect(await cache.query('missing.example.com', 'A')).toEqual({ kind: 'nxdomain', ttl: 1 });
    expect(await cache.query('quiet.example.com', 'TXT')).toEqual({ kind: 'nodata', ttl: 301 });
    expect(upstream.calls).toHaveLength(2);
    advance(301);
    await cache.query('missing.example.com', 'A');
    await cache.query('quiet.example.com', 'TXT');
    expect(upstream.calls).toHaveLength(4);
  });

  it('never caches tempfail', async () => {
    const { cache, upstream } = setup();
    expect((await cache.query('broken.example.com', 'A')).kind).toBe('tempfail');
    expect((await cache.query('broken.example.com', 'A')).kind).toBe('tempfail');
    expect(upstream.calls).toHaveLength(2);
    expect(cache.stats().size).toBe(0);
  });

  it('clamps TTLs to minTtl and maxTtl, and keeps nothing with TTL 0', async () => {
    const plain = setup();
    expect(await plain.cache.query('long.example.com', 'A')).toMatchObject({ ttl: 86_400 });
    await plain.cache.query('zero.example.com', 'A');
    await plain.cache.query('zero.example.com', 'A');
    expect(plain.upstream.calls.filter((c) => c.name === 'zero.example.com')).toHaveLength(2);
    const floored = setup({ minTtl: 60 });
    expect(await floored.cache.query('zero.example.com', 'A')).toMatchObject({ ttl: 60 });
    await floored.cache.query('zero.example.com', 'A');
    expect(floored.upstream.calls).toHaveLength(1);
  });

  it('joins identical queries in flight into one upstream query', async () => {
    const { cache, upstream } = setup();
    const answers = await Promise.all([
      ...Array.from({ length: 5 }, () => cache.query('example.com', 'A')),
      cache.query('Example.COM', 'A'),
      cache.query('example.com', 'TXT'),
    ]);
    expect(upstream.calls).toEqual([
      { name: 'example.com', type: 'A' },
      { name: 'example.com', type: 'TXT' },
    ]);
    expect(new Set(answers.slice(0, 6).map((a) => JSON.stringify(a))).size).toBe(1);
    expect(cache.stats()).toMatchObject({ hits: 5, misses: 2, coalesced: 5 });
  });

  it('evicts the least recently used entry when full', async () => {
    const { cache, upstream } = setup({ maxEntries: 2 });
    await cache.query('example.com', 'A');
    await cache.query('example.com', 'TXT');
    await cache.query('example.com', 'A'); // touch: TXT is now the oldest
    await cache.query('quiet.example.com', 'A');
    expect(cache.stats().size).toBe(2);
    await cache.query('example.com', 'A');
    expect(upstream.calls).toHaveLength(3);
    await cache.query('example.com', 'TXT');
    expect(upstream.calls).toHaveLength(4);
  });

  it('caches reverse lookups under their PTR name', async () => {
    const { cache, upstream } = setup();
    expect(await cache.reverse('192.0.2.1')).toMatchObject({ kind: 'records', records: ['example.com'] });
    expect(await cache.query('1.2.0.192.in-addr.arpa', 'PTR')).toMatchObject({ records: ['example.com'] });
    expect(upstream.calls).toEqual([{ name: '1.2.0.192.in-addr.arpa', type: 'PTR' }]);
    expect(await cache.reverse('bogus')).toEqual({ kind: 'nxdomain', ttl: 0 });
  });

  it('clear() forgets everything', async () => {
    const { cache, upstream } = setup();
    await cache.query('example.com', 'A');
    cache.clear();
    expect(cache.stats().size).toBe(0);
    await cache.query('example.com', 'A');
    expect(upstream.calls).toHaveLength(2);
  });

  it('gives each caller its own records and turns a throwing resolver into tempfail', async () => {
    const { cache } = setup();
    const first = await cache.query('example.com', 'A');
    if (first.kind === 'records') first.records.push('203.0.113.66');
    expect(await cache.query('example.com', 'A')).toMatchObject({ records: ['192.0.2.1'] });

    const throwing: DnsResolver = {
      query: () => Promise.reject(new Error('boom')),
      reverse: () => Promise.reject(new Error('boom')),
    };
    const guarded = withCache(throwing);
    expect(await guarded.query('example.com', 'A')).toEqual({ kind: 'tempfail', reason: 'resolver error: boom' });
    expect(guarded.stats().size).toBe(0);
  });
});
