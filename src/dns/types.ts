/**
 * The DNS port. Every lookup Kagami makes goes through a DnsResolver, so protocol code can be
 * tested against an in-memory zone and the server can be pointed at any server (`--dns`).
 *
 * The answer is a closed union because the difference between "no such name", "name exists but
 * has no record of this type" and "could not find out" decides protocol outcomes: SPF `none` vs
 * `temperror` (RFC 7208 4.3, 4.4), the DMARC tree walk and `np` (RFC 9989), MX fallback to the
 * address record (RFC 5321 5.1).
 */

/** Record types the resolver can ask for. */
export type RecordType = 'A' | 'AAAA' | 'TXT' | 'MX' | 'PTR' | 'CNAME' | 'NS';

export interface MxRecord {
  /** The exchange host name, lowercased, without the trailing dot. */
  exchange: string;
  /** RFC 5321 preference: lower is tried first. */
  preference: number;
}

/** What a record of each type looks like once decoded. */
export interface RecordData {
  A: string;
  AAAA: string;
  /** The character-strings of one TXT record, concatenated (RFC 7208 3.3, RFC 6376 3.6.2.2). */
  TXT: string;
  MX: MxRecord;
  PTR: string;
  CNAME: string;
  NS: string;
}

export type DnsAnswer<T> =
  /** One or more records of the asked type (after following CNAMEs in the answer section). */
  | { kind: 'records'; records: T[]; ttl: number; authenticated: boolean }
  /** NXDOMAIN: the name does not exist. `ttl` is the negative-caching TTL from the SOA (RFC 2308). */
  | { kind: 'nxdomain'; ttl: number }
  /** NOERROR with no record of the asked type (NODATA). */
  | { kind: 'nodata'; ttl: number }
  /** SERVFAIL, REFUSED, a timeout on every server, a malformed or mismatched answer. */
  | { kind: 'tempfail'; reason: string };

export interface DnsResolver {
  /** Looks up records of one type for a name. Never throws for DNS outcomes. */
  query<T extends RecordType>(name: string, type: T): Promise<DnsAnswer<RecordData[T]>>;
  /** PTR lookup for an IPv4 or IPv6 address (builds the in-addr.arpa / ip6.arpa name). */
  reverse(ip: string): Promise<DnsAnswer<string>>;
}

/** One DNS server to send queries to. */
export interface DnsServerAddress {
  host: string;
  port: number;
}
