/**
 * Reverse DNS kept in the store: the second run does not ask again, expired entries are asked
 * again, a temporary failure is never cached, NXDOMAIN is cached as "no PTR", and a name counts as
 * confirmed only when its address records lead back to the address. A real SQLite store
 * (in memory) and the zone fake of the DNS port, which records every query.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedReverseLookups, outboundAddresses, ptrCacheTtl, PTR_CACHE_MAX_NEGATIVE_TTL, PTR_CACHE_MAX_TTL, PTR_CACHE_MIN_TTL } from '../../../src/analysis/ptr-cache.js';
import { zoneResolver } from '../../../src/dns/zone.js';
import { openSqliteStore } from '../../../src/store/sqlite.js';
import type { Store } from '../../../src/store/types.js';

const T0 = Date.UTC(2026, 10, 1);
const zone = {
  '1.2.0.192.in-addr.arpa': { PTR: ['o1.SendGrid.net.'], ttl: 86_400 },
  '2.2.0.192.in-addr.arpa': { SERVFAIL: true },
  '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa': { PTR: ['mail.example.net'], ttl: 60 },
  'o1.sendgrid.net': { A: ['192.0.2.1'], ttl: 86_400 },
  // Written out in full: the same address as 2001:db8::1.
  'mail.example.net': { AAAA: ['2001:0db8:0:0:0:0:0:1'] },
  // A PTR name whose owner never pointed it back: anyone can claim a name in their reverse zone.
  'relay.example.org': { A: ['198.51.100.77'] },
};
const IPS = ['192.0.2.1', '192.0.2.2', '192.0.2.3', '2001:db8::1', '192.0.2.1'];

describe('cachedReverseLookups', () => {
  let store: Store;
  beforeEach(async () => {
    store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
  });
  afterEach(async () => store.close());

  it('asks each address once, then answers from the store; a tempfail is asked again', async () => {
    const resolver = zoneResolver(zone);
    const first = await cachedReverseLookups({ store, resolver, now: T0 }, IPS);
    expect(Object.fromEntries(first.enrich)).toEqual({
      '192.0.2.1': { ptr: 'o1.sendgrid.net', confirmed: true },
      '192.0.2.2': { ptr: null, confirmed: false },
      '192.0.2.3': { ptr: null, confirmed: false },
      '2001:db8::1': { ptr: 'mail.example.net', confirmed: true },
    });
    expect(first.stats).toEqual({ cached: 0, asked: 4, tempfail: 1 });
    // Four reverse lookups and two forward ones (the names found).
    expect(resolver.calls.map((c) => c.type).sort()).toEqual(['A', 'AAAA', 'PTR', 'PTR', 'PTR', 'PTR']);
    const asked = resolver.calls.length;

    // A minute later: everything but the SERVFAIL comes from the store.
    const second = await cachedReverseLookups({ store, resolver, now: T0 + 60_000 }, IPS);
    expect(second.stats).toEqual({ cached: 3, asked: 1, tempfail: 1 });
    expect(resolver.calls.slice(asked).map((c) => c.name)).toEqual(['2.2.0.192.in-addr.arpa']);
    expect(Object.fromEntries(second.enrich)).toEqual(Object.fromEntries(first.enrich));

    // The server recovers: the address gets its name and is cached from then on.
    resolver.setZone({ ...zone, '2.2.0.192.in-addr.arpa': { PTR: ['relay.example.org'] } });
    const third = await cachedReverseLookups({ store, resolver, now: T0 + 120_000 }, IPS);
    expect(third.enrich.get('192.0.2.2')).toEqual({ ptr: 'relay.example.org', confirmed: false });
    const fourth = await cachedReverseLookups({ store, resolver, now: T0 + 180_000 }, IPS);
    expect(fourth.stats).toEqual({ cached: 4, asked: 0, tempfail: 0 });
    expect(fourth.enrich.get('192.0.2.2')).toEqual({ ptr: 'relay.example.org', confirmed: false });
    expect(fourth.enrich.get('192.0.2.1')).toEqual({ ptr: 'o1.sendgrid.net', confirmed: true });
  });

  it('keeps answers for their TTL within the floor and ceiling, then asks again', async () => {
    const resolver = zoneResolver(zone);
    await cachedReverseLookups({ store, resolver, now: T0 }, ['192.0.2.1', '2001:db8::1', '192.0.2.3']);
    const rows = await store.getCachedPtrs(['192.0.2.1', '2001:db8::1', '192.0.2.3'], T0);
    const expires = Object.fromEntries(rows.map((r) => [r.ip, (r.expiresAt - r.fetchedAt) / 1000]));
    // 86400 s as published (the shorter of the PTR and A TTLs); 60 s raised to the floor; the NXDOMAIN's SOA minimum (300) raised to the floor.
    expect(expires).toEqual({ '192.0.2.1': 86_400, '2001:db8::1': PTR_CACHE_MIN_TTL, '192.0.2.3': PTR_CACHE_MIN_TTL });
    const later = await cachedReverseLookups({ store, resolver, now: T0 + PTR_CACHE_MIN_TTL * 1000 }, ['192.0.2.1', '2001:db8::1']);
    expect(later.stats).toEqual({ cached: 1, asked: 1, tempfail: 0 });
  });

  it('clamps TTLs', () => {
    expect(ptrCacheTtl(0, false)).toBe(PTR_CACHE_MIN_TTL);
    expect(ptrCacheTtl(30 * 86_400, false)).toBe(PTR_CACHE_MAX_TTL);
    expect(ptrCacheTtl(30 * 86_400, true)).toBe(PTR_CACHE_MAX_NEGATIVE_TTL);
    expect(ptrCacheTtl(7200, false)).toBe(7200);
  });

  it('lists the addresses Kagami sent from', async () => {
    await store.recordOutboundSources([{ ip: '198.51.100.25', at: T0 }]);
    expect(await outboundAddresses(store)).toEqual(new Set(['198.51.100.25']));
  });
});

describe('forward confirmation', () => {
  it('a forward lookup that fails leaves the address unknown for this run, not "unconfirmed"', async () => {
    const store = openSqliteStore({ file: ':memory:' });
    await store.migrate();
    const resolver = zoneResolver({ '9.2.0.192.in-addr.arpa': { PTR: ['mx.broken.example'] }, 'mx.broken.example': { SERVFAIL: true } });
    const r = await cachedReverseLookups({ store, resolver, now: T0 }, ['192.0.2.9']);
    expect(r.stats).toEqual({ cached: 0, asked: 1, tempfail: 1 });
    expect(await store.getCachedPtrs(['192.0.2.9'], T0)).toEqual([]);
    await store.close();
  });
});
