/**
 * Reverse DNS of report source IPs, kept in the store (issue #5): an address answered before and
 * not yet expired is not asked again, so repeated `kagami sources` runs (and the alert check)
 * cost no lookups. Lookups go through the DNS port. A temporary failure is never cached as
 * "no PTR": it gives null for this run only, and the next run asks again.
 */
import { forwardConfirmedName, type ReverseName } from '../dns/fcrdns.js';
import type { DnsResolver } from '../dns/types.js';
import type { SourceEnrichment } from './sources.js';
import type { PtrCacheEntry, Store } from '../store/types.js';

/** Shortest time an answer is kept, in seconds: PTR names change rarely, and a run asks for many at once. */
export const PTR_CACHE_MIN_TTL = 3600;
/** Longest time a PTR name is kept, in seconds, whatever its TTL says. */
export const PTR_CACHE_MAX_TTL = 7 * 86_400;
/** Longest time "no PTR" (NXDOMAIN, NODATA) is kept, in seconds: a missing name may be added soon. */
export const PTR_CACHE_MAX_NEGATIVE_TTL = 86_400;
/** Reverse lookups in flight at once. */
const PTR_CONCURRENCY = 8;

export interface PtrLookupStats {
  /** Addresses answered from the store. */
  cached: number;
  /** Addresses asked over DNS. */
  asked: number;
  /** Of those, how many failed temporarily (not cached). */
  tempfail: number;
}

export interface PtrLookupDeps {
  store: Pick<Store, 'getCachedPtrs' | 'putCachedPtrs'>;
  resolver: DnsResolver;
  /** ms since the epoch. */
  now: number;
}

/** How long to keep an answer with this TTL (seconds), clamped to the floor and ceiling. */
export function ptrCacheTtl(ttl: number, negative: boolean): number {
  return Math.min(Math.max(ttl, PTR_CACHE_MIN_TTL), negative ? PTR_CACHE_MAX_NEGATIVE_TTL : PTR_CACHE_MAX_TTL);
}

/**
 * The PTR name of each address (null: none, or the lookup failed) and whether it is
 * forward-confirmed (see dns/fcrdns.ts), from the store where it can.
 */
export async function cachedReverseLookups(
  deps: PtrLookupDeps,
  ips: readonly string[],
): Promise<{ enrich: Map<string, SourceEnrichment>; stats: PtrLookupStats }> {
  const enrich = new Map<string, SourceEnrichment>();
  const unique = [...new Set(ips)];
  const stats: PtrLookupStats = { cached: 0, asked: 0, tempfail: 0 };
  if (unique.length === 0) return { enrich, stats };
  for (const e of await deps.store.getCachedPtrs(unique, deps.now)) {
    enrich.set(e.ip, { ptr: e.ptr, confirmed: e.confirmed });
    stats.cached++;
  }
  const todo = unique.filter((ip) => !enrich.has(ip));
  const fresh: PtrCacheEntry[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < todo.length) {
      const ip = todo[next++]!;
      stats.asked++;
      const a = await forwardConfirmedName(deps.resolver, ip).catch((err: unknown): ReverseName => ({ kind: 'tempfail', reason: String(err) }));
      if (a.kind === 'tempfail') {
        stats.tempfail++;
        enrich.set(ip, { ptr: null, confirmed: false });
        continue;
      }
      const ptr = a.kind === 'none' ? null : a.name;
      const confirmed = a.kind === 'confirmed';
      enrich.set(ip, { ptr, confirmed });
      const keep = ptrCacheTtl(a.ttl, ptr === null);
      fresh.push({ ip, ptr, confirmed, fetchedAt: deps.now, expiresAt: deps.now + keep * 1000 });
    }
  }
  await Promise.all(Array.from({ length: Math.min(PTR_CONCURRENCY, todo.length) }, worker));
  if (fresh.length > 0) await deps.store.putCachedPtrs(fresh);
  return { enrich, stats };
}

/** The addresses Kagami delivered from (class "ours"), as summariseSources takes them. */
export async function outboundAddresses(store: Pick<Store, 'listOutboundSources'>): Promise<Set<string>> {
  return new Set((await store.listOutboundSources()).map((s) => s.ip));
}
