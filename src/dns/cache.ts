/**
 * A TTL-aware cache in front of any DnsResolver. One SMTP session asks the same names several
 * times (SPF includes, DMARC, DKIM keys of one sender), and a burst of mail from one sender asks
 * them again; the cache answers those without a round trip and joins identical queries in flight.
 */
import { normalizeName, reverseName } from './names.js';
import type { DnsAnswer, DnsResolver, RecordData, RecordType } from './types.js';

export interface CacheOptions {
  /** Entries kept; the least recently used goes first when full. Default 10000. */
  maxEntries?: number;
  /** Lower bound on the TTL of a cached answer, seconds. Default 0. */
  minTtl?: number;
  /** Upper bound on the TTL of a cached answer, seconds. Default 86400 (RFC 8767 4: at most 7 days). */
  maxTtl?: number;
  /** Upper bound for nxdomain and nodata, seconds. Default 900 (RFC 2308 5 suggests 1-3 hours at most). */
  negativeTtlCap?: number;
  /** Milliseconds clock, injectable for tests. Default Date.now. */
  now?: () => number;
}

export interface CacheStats {
  /** Answers served from the cache or by joining a query in flight. */
  hits: number;
  /** Queries sent to the wrapped resolver. */
  misses: number;
  /** Entries stored now (expired ones included until they are next touched). */
  size: number;
  /** The part of `hits` that joined a query in flight. */
  coalesced: number;
}

export interface CachingResolver extends DnsResolver {
  stats(): CacheStats;
  /** Drops every stored answer (queries in flight still complete, but are not stored). */
  clear(): void;
}

type AnyAnswer = DnsAnswer<RecordData[RecordType]>;
interface Entry {
  answer: Exclude<AnyAnswer, { kind: 'tempfail' }>;
  expiresAt: number;
}

export function withCache(resolver: DnsResolver, options: CacheOptions = {}): CachingResolver {
  const maxEntries = options.maxEntries ?? 10_000;
  const minTtl = options.minTtl ?? 0;
  const maxTtl = options.maxTtl ?? 86_400;
  const negativeTtlCap = options.negativeTtlCap ?? 900;
  const now = options.now ?? Date.now;
  // Map iteration follows insertion order; re-inserting on every hit makes the first key the
  // least recently used one.
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<AnyAnswer>>();
  let generation = 0;
  let hits = 0;
  let misses = 0;
  let coalesced = 0;

  function lookup(key: string): AnyAnswer | undefined {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    const remainingMs = entry.expiresAt - now();
    entries.delete(key);
    if (remainingMs <= 0) return undefined;
    entries.set(key, entry);
    // Callers see how long the answer stays valid, as a downstream cache would (RFC 1035 7.4).
    return copy({ ...entry.answer, ttl: Math.ceil(remainingMs / 1000) });
  }

  /**
   * The TTL to keep an answer for, or 0 to not keep it. Tempfail is never kept: RFC 2308 7.1
   * allows it only briefly, and a retry (the SMTP client's, after our 451) should ask again.
   */
  function keepFor(answer: AnyAnswer): number {
    if (answer.kind === 'tempfail') return 0;
    const ttl = Math.min(Math.max(answer.ttl, minTtl), maxTtl);
    return answer.kind === 'records' ? ttl : Math.min(ttl, negativeTtlCap);
  }

  function store(key: string, answer: AnyAnswer, ttl: number): void {
    if (answer.kind === 'tempfail' || ttl <= 0 || maxEntries <= 0) return;
    entries.delete(key);
    entries.set(key, { answer: { ...answer, ttl }, expiresAt: now() + ttl * 1000 });
    for (const oldest of entries.keys()) {
      if (entries.size <= maxEntries) break;
      entries.delete(oldest);
    }
  }

  async function upstream(key: string, name: string, type: RecordType): Promise<AnyAnswer> {
    const startedIn = generation;
    let answer: AnyAnswer;
    try {
      answer = await resolver.query(name, type);
    } catch (err) {
      // The port promises never to throw; if a resolver does, the caller still gets an outcome.
      const message = err instanceof Error ? err.message : String(err);
      answer = { kind: 'tempfail', reason: `resolver error: ${message}` };
    }
    inFlight.delete(key);
    const ttl = keepFor(answer);
    if (startedIn === generation) store(key, answer, ttl);
    return answer.kind === 'tempfail' || ttl <= 0 ? answer : { ...answer, ttl };
  }

  async function query<T extends RecordType>(name: string, type: T): Promise<DnsAnswer<RecordData[T]>> {
    const key = `${type} ${normalizeName(name)}`;
    const cached = lookup(key);
    if (cached !== undefined) {
      hits++;
      return cached as DnsAnswer<RecordData[T]>;
    }
    let pending = inFlight.get(key);
    if (pending !== undefined) {
      hits++;
      coalesced++;
    } else {
      misses++;
      pending = upstream(key, name, type);
      inFlight.set(key, pending);
    }
    return copy(await pending) as DnsAnswer<RecordData[T]>;
  }

  return {
    query,
    async reverse(ip) {
      const name = reverseName(ip);
      return name === undefined ? resolver.reverse(ip) : query(name, 'PTR');
    },
    stats: () => ({ hits, misses, size: entries.size, coalesced }),
    clear() {
      entries.clear();
      generation++;
    },
  };
}

/** Each caller gets its own records array, so one caller's changes cannot leak into another's. */
function copy(answer: AnyAnswer): AnyAnswer {
  return answer.kind === 'records' ? { ...answer, records: [...answer.records] } : answer;
}
