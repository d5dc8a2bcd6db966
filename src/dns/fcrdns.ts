/**
 * Forward-confirmed reverse DNS: anyone who holds an address block can publish any PTR name for
 * it ("o1.sendgrid.net"), but only the name's owner can make that name's A/AAAA records lead back
 * to the address. Names are trusted (named senders, trusted forwarders) only when confirmed.
 */
import { BlockList, isIP } from 'node:net';
import type { DnsResolver } from './types.js';

export type ReverseName =
  /** A PTR name whose A/AAAA records include the address (the first such name). */
  | { kind: 'confirmed'; name: string; ttl: number }
  /** PTR names exist but none leads back to the address; `name` is the first, for display. */
  | { kind: 'unconfirmed'; name: string; ttl: number }
  /** No PTR record (NXDOMAIN or NODATA). */
  | { kind: 'none'; ttl: number }
  /** The reverse or a forward lookup failed: nothing can be said now. */
  | { kind: 'tempfail'; reason: string };

/** Most PTR names followed forward: a reverse zone listing dozens is not worth dozens of lookups. */
const MAX_NAMES = 3;

const plain = (ip: string) => ip.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
const clean = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** Whether two textual addresses are the same address ("2001:DB8::1" = "2001:db8:0:0::1", "::ffff:192.0.2.1" = "192.0.2.1"). */
export function sameAddress(a: string, b: string): boolean {
  const x = plain(a);
  const y = plain(b);
  const family = isIP(x);
  if (family === 0 || family !== isIP(y)) return false;
  const list = new BlockList();
  list.addAddress(x, family === 4 ? 'ipv4' : 'ipv6');
  return list.check(y, family === 4 ? 'ipv4' : 'ipv6');
}

/** The address's PTR name, forward-confirmed where it can be. */
export async function forwardConfirmedName(resolver: DnsResolver, ip: string): Promise<ReverseName> {
  const address = plain(ip);
  const reverse = await resolver.reverse(address);
  if (reverse.kind === 'tempfail') return reverse;
  if (reverse.kind !== 'records' || reverse.records.length === 0) return { kind: 'none', ttl: reverse.ttl };
  const names = [...new Set(reverse.records.map(clean))].slice(0, MAX_NAMES);
  let failed: string | null = null;
  for (const name of names) {
    const forward = await resolver.query(name, isIP(address) === 6 ? 'AAAA' : 'A');
    if (forward.kind === 'tempfail') failed ??= forward.reason;
    else if (forward.kind === 'records' && forward.records.some((a) => sameAddress(a, address))) {
      return { kind: 'confirmed', name, ttl: Math.min(reverse.ttl, forward.ttl) };
    }
  }
  // A forward lookup that failed might have confirmed the name: say nothing rather than "unconfirmed".
  if (failed !== null) return { kind: 'tempfail', reason: failed };
  return { kind: 'unconfirmed', name: names[0]!, ttl: reverse.ttl };
}
