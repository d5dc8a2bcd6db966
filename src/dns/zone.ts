/**
 * An in-memory DNS zone: the data behind the `zoneResolver` fake (protocol tests) and the real
 * UDP/TCP zone server (stub resolver tests, `kagami demo`). Both answer through `lookupZone`, so
 * the fake and the wire cannot disagree about what the zone says.
 *
 * ```ts
 * const zone: ZoneData = {
 *   'example.com': { A: ['192.0.2.1'], MX: [{ exchange: 'mx.example.com', preference: 10 }],
 *                    TXT: ['v=spf1 -all', ['two ', 'strings']], ttl: 3600 },
 *   'www.example.com': { CNAME: 'example.com' },
 *   '*.wild.example.com': { TXT: ['synthesised'] },        // RFC 4592 wildcard
 *   'broken.example.com': { SERVFAIL: true },
 *   '1.2.0.192.in-addr.arpa': { PTR: ['mx.example.com'] },
 * };
 * ```
 */
import { encodableName, normalizeName, reverseName } from './names.js';
import type { DnsAnswer, DnsResolver, MxRecord, RecordData, RecordType } from './types.js';

/** Owner name (lowercase, no trailing dot; `*.example.com` is a wildcard) → its data. */
export interface ZoneData {
  [name: string]: ZoneEntry;
}

export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  /** Each item is one RR; a string[] item is one RR made of several character-strings. */
  TXT?: (string | string[])[];
  MX?: MxRecord[];
  PTR?: string[];
  /** An alias; it hides every other type at this name (RFC 1034 3.6.2). */
  CNAME?: string;
  NS?: string[];
  /** Answer every query for this name with SERVFAIL. */
  SERVFAIL?: boolean;
  /** Never answer (the fake answers tempfail at once). */
  TIMEOUT?: boolean;
  /** Over UDP answer with the TC bit and no records, so the client must retry over TCP. */
  TRUNCATE?: boolean;
  /** TTL of the records and the negative TTL (SOA minimum) for this name; default 300. */
  ttl?: number;
}

export const DEFAULT_ZONE_TTL = 300;
/** How many CNAMEs a lookup follows before it stops (loops and long chains end here). */
export const MAX_CNAME_CHAIN = 8;

/** One resource record of a lookup's answer section, owner name normalized. */
export type ZoneRecord =
  | { name: string; type: 'A' | 'AAAA' | 'PTR' | 'CNAME' | 'NS'; ttl: number; data: string }
  | { name: string; type: 'TXT'; ttl: number; data: string[] }
  | { name: string; type: 'MX'; ttl: number; data: MxRecord };

export type ZoneRcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'TIMEOUT';

export interface ZoneLookup {
  /** What the server answers; TIMEOUT means it stays silent. */
  rcode: ZoneRcode;
  /** The answer section: the CNAME chain first, then the records of the asked type. */
  answers: ZoneRecord[];
  /** Some name on the way was marked TRUNCATE. */
  truncate: boolean;
  /** For NXDOMAIN and NODATA: the SOA minimum to advertise (RFC 2308 3). */
  negativeTtl: number;
}

/** Answers one question from the zone. Pure; `type` may be any type name (unknown ones get NODATA). */
export function lookupZone(zone: ZoneData, name: string, type: string): ZoneLookup {
  const index = new Map<string, ZoneEntry>();
  for (const [owner, entry] of Object.entries(zone)) index.set(normalizeName(owner), entry);
  const answers: ZoneRecord[] = [];
  const visited = new Set<string>();
  let truncate = false;
  let current = normalizeName(name);
  for (;;) {
    visited.add(current);
    const found = findEntry(index, current);
    if (!found.exists) return { rcode: 'NXDOMAIN', answers, truncate, negativeTtl: DEFAULT_ZONE_TTL };
    const entry = found.entry;
    const ttl = entry?.ttl ?? DEFAULT_ZONE_TTL;
    const result = (rcode: ZoneRcode): ZoneLookup => ({ rcode, answers, truncate, negativeTtl: ttl });
    if (entry === undefined) return result('NOERROR'); // empty non-terminal: NODATA
    if (entry.SERVFAIL) return result('SERVFAIL');
    if (entry.TIMEOUT) return result('TIMEOUT');
    truncate ||= entry.TRUNCATE === true;
    if (entry.CNAME !== undefined && type !== 'CNAME') {
      const target = normalizeName(entry.CNAME);
      answers.push({ name: current, type: 'CNAME', ttl, data: target });
      // RFC 1034 4.3.2: restart at the alias target; RFC 6604 2.1: the rcode is the final name's.
      if (visited.has(target) || visited.size > MAX_CNAME_CHAIN) return result('NOERROR');
      current = target;
      continue;
    }
    answers.push(...recordsOf(entry, current, type, ttl));
    return result('NOERROR');
  }
}

/**
 * Finds the data for a name. A name "exists" if it has an entry or is the ancestor of one (an
 * empty non-terminal, RFC 4592 2.2.2). A wildcard `*.X` answers for a missing name whose closest
 * existing ancestor (closest encloser, RFC 4592 3.3.1) is X.
 */
function findEntry(index: Map<string, ZoneEntry>, name: string): { exists: boolean; entry?: ZoneEntry } {
  const direct = index.get(name);
  if (direct !== undefined) return { exists: true, entry: direct };
  const exists = (n: string): boolean => {
    if (index.has(n)) return true;
    for (const owner of index.keys()) if (owner.endsWith(`.${n}`)) return true;
    return false;
  };
  if (exists(name)) return { exists: true };
  const labels = name.split('.');
  for (let i = 1; i < labels.length; i++) {
    const encloser = labels.slice(i).join('.');
    if (!exists(encloser)) continue;
    const wildcard = index.get(`*.${encloser}`);
    return wildcard === undefined ? { exists: false } : { exists: true, entry: wildcard };
  }
  return { exists: false };
}

function recordsOf(entry: ZoneEntry, name: string, type: string, ttl: number): ZoneRecord[] {
  switch (type) {
    case 'A':
    case 'AAAA':
    case 'PTR':
    case 'NS':
      return (entry[type] ?? []).map((data) => ({ name, type, ttl, data }));
    case 'CNAME':
      return entry.CNAME === undefined ? [] : [{ name, type, ttl, data: entry.CNAME }];
    case 'TXT':
      return (entry.TXT ?? []).map((txt) => ({ name, type, ttl, data: typeof txt === 'string' ? [txt] : txt }));
    case 'MX':
      return (entry.MX ?? []).map((mx) => ({ name, type, ttl, data: mx }));
    default:
      return [];
  }
}

/** The in-memory fake of the DNS port: answers from a zone, no sockets, every query recorded. */
export interface ZoneResolver extends DnsResolver {
  /** Every query in order, with the name exactly as asked (reverse() records its PTR name). */
  readonly calls: Array<{ name: string; type: RecordType }>;
  /** Replaces the zone for the following queries. */
  setZone(zone: ZoneData): void;
}

export function zoneResolver(initial: ZoneData): ZoneResolver {
  let zone = initial;
  const calls: Array<{ name: string; type: RecordType }> = [];

  async function query<T extends RecordType>(name: string, type: T): Promise<DnsAnswer<RecordData[T]>> {
    calls.push({ name, type });
    const qname = encodableName(name);
    if (qname === undefined) return { kind: 'nxdomain', ttl: 0 }; // as the stub resolver does
    const lookup = lookupZone(zone, qname, type);
    switch (lookup.rcode) {
      case 'SERVFAIL':
        return { kind: 'tempfail', reason: `SERVFAIL from zone for ${qname}` };
      case 'TIMEOUT':
        return { kind: 'tempfail', reason: `timeout (zone marks ${qname} TIMEOUT)` };
      case 'NXDOMAIN':
        return { kind: 'nxdomain', ttl: lookup.negativeTtl };
      case 'NOERROR':
        return answerRecords(lookup, type);
    }
  }

  return {
    calls,
    setZone(next) {
      zone = next;
    },
    query,
    async reverse(ip) {
      const name = reverseName(ip);
      if (name === undefined) return { kind: 'nxdomain', ttl: 0 };
      return query(name, 'PTR');
    },
  };
}

/** Turns a NOERROR lookup into records (TTL = minimum over the CNAME chain and the RRset) or nodata. */
function answerRecords<T extends RecordType>(lookup: ZoneLookup, type: T): DnsAnswer<RecordData[T]> {
  const records: RecordData[RecordType][] = [];
  let ttl = Infinity;
  for (const rr of lookup.answers) {
    if (rr.type === 'CNAME' && type !== 'CNAME') {
      ttl = Math.min(ttl, rr.ttl);
      continue;
    }
    if (rr.type !== type) continue;
    ttl = Math.min(ttl, rr.ttl);
    if (rr.type === 'TXT') records.push(rr.data.join(''));
    else if (rr.type === 'MX') records.push({ ...rr.data, exchange: normalizeName(rr.data.exchange) });
    else if (rr.type === 'A' || rr.type === 'AAAA') records.push(rr.data);
    else records.push(normalizeName(rr.data));
  }
  if (records.length === 0) return { kind: 'nodata', ttl: lookup.negativeTtl };
  return { kind: 'records', records: records as RecordData[T][], ttl, authenticated: false };
}
