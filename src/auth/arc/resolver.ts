/**
 * Our DNS port in the shape mailauth expects: a function like node:dns `resolve(name, rrtype)`
 * that resolves to the records or rejects with an error whose `.code` is a node:dns code. This is
 * the one place where DnsAnswer outcomes become those codes, and `isTemporaryDnsCode` the one
 * place that reads them back.
 */
import type { DnsAnswer, DnsResolver, RecordType } from '../../dns/types.js';

/** What mailauth calls: TXT → string[][] (one array of character-strings per record). */
export type MailauthResolver = (name: string, rrtype?: string) => Promise<unknown[]>;

/** An error as node:dns raises it. */
export interface DnsCodeError extends Error {
  code: DnsErrorCode;
  hostname: string;
}

export type DnsErrorCode = 'ENOTFOUND' | 'ENODATA' | 'ETIMEOUT' | 'ESERVFAIL' | 'ENOTIMP';

const SUPPORTED: ReadonlySet<string> = new Set<RecordType>(['A', 'AAAA', 'TXT', 'MX', 'PTR', 'CNAME', 'NS']);

/** Adapts a DnsResolver. TXT records come back joined by the port; each becomes a one-element array. */
export function toMailauthResolver(resolver: DnsResolver): MailauthResolver {
  return async function resolve(name: string, rrtype = 'A'): Promise<unknown[]> {
    const type = rrtype.toUpperCase();
    if (!SUPPORTED.has(type)) throw dnsError('ENOTIMP', name, type, `record type ${type} is not supported`);
    const answer: DnsAnswer<unknown> = await resolver.query(name, type as RecordType);
    switch (answer.kind) {
      case 'records':
        return answer.records.map((record) => shape(type, record));
      case 'nxdomain':
        throw dnsError('ENOTFOUND', name, type, 'no such name');
      case 'nodata':
        throw dnsError('ENODATA', name, type, `no ${type} record`);
      case 'tempfail':
        // node:dns tells a timeout from a server failure; the port only gives a reason.
        throw dnsError(/time(d)?\s*out/i.test(answer.reason) ? 'ETIMEOUT' : 'ESERVFAIL', name, type, answer.reason);
      default: {
        const never: never = answer;
        throw new Error(`unexpected DNS answer ${JSON.stringify(never)}`);
      }
    }
  };
}

/** True for the codes that mean "could not find out" (a retry may succeed), not "there is no record". */
export function isTemporaryDnsCode(code: unknown): boolean {
  return code === 'ETIMEOUT' || code === 'ESERVFAIL' || code === 'ECONNREFUSED' || code === 'EREFUSED' || code === 'ETEMPFAIL';
}

function shape(type: string, record: unknown): unknown {
  if (type === 'TXT') return [record as string];
  if (type === 'MX') {
    const mx = record as { exchange: string; preference: number };
    return { exchange: mx.exchange, priority: mx.preference };
  }
  return record;
}

function dnsError(code: DnsErrorCode, hostname: string, type: string, reason: string): DnsCodeError {
  const err = new Error(`query${type} ${code} ${hostname}: ${reason}`) as DnsCodeError;
  err.code = code;
  err.hostname = hostname;
  return err;
}
