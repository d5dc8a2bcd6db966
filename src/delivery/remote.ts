/**
 * Delivery to an outside address (an alias target): MX lookup through our DNS port (RFC 5321
 * 5.1: MX records by preference, else the address records; RFC 7505 null MX refuses), then one
 * SMTP transaction per domain with opportunistic STARTTLS. MTA-STS, DANE and DSNs come with the
 * outbound issue; DNS trouble is a temporary failure, never a bounce.
 */
import { isIP } from 'node:net';
import type { DnsResolver } from '../dns/types.js';
import { sendMessage, type RecipientResult } from '../smtp/client/send.js';

export interface RemoteTarget {
  exchange: string;
  address: string;
}

export type MxResolution =
  | { result: 'hosts'; hosts: RemoteTarget[] }
  | { result: 'tempfail'; reason: string }
  | { result: 'permfail'; reason: string };

async function addressesOf(resolver: DnsResolver, host: string): Promise<string[] | { tempfail: string }> {
  const [a, aaaa] = await Promise.all([resolver.query(host, 'A'), resolver.query(host, 'AAAA')]);
  if (a.kind === 'tempfail' && aaaa.kind === 'tempfail') return { tempfail: `${host}: ${a.reason}` };
  return [...(a.kind === 'records' ? a.records : []), ...(aaaa.kind === 'records' ? aaaa.records : [])];
}

export async function resolveMx(resolver: DnsResolver, domain: string): Promise<MxResolution> {
  const mx = await resolver.query(domain, 'MX');
  if (mx.kind === 'tempfail') return { result: 'tempfail', reason: `MX lookup for ${domain}: ${mx.reason}` };
  if (mx.kind === 'nxdomain') return { result: 'permfail', reason: `${domain} does not exist (NXDOMAIN)` };
  const exchanges =
    mx.kind === 'records' ? [...mx.records].sort((x, y) => x.preference - y.preference).map((r) => r.exchange) : [domain];
  if (mx.kind === 'records' && mx.records.length === 1 && mx.records[0]!.exchange === '') {
    return { result: 'permfail', reason: `${domain} publishes a null MX: it accepts no mail (RFC 7505)` };
  }
  const hosts: RemoteTarget[] = [];
  let lastTemp = '';
  for (const exchange of exchanges) {
    if (isIP(exchange)) {
      hosts.push({ exchange, address: exchange });
      continue;
    }
    const addresses = await addressesOf(resolver, exchange);
    if (!Array.isArray(addresses)) {
      lastTemp = addresses.tempfail;
      continue;
    }
    for (const address of addresses) hosts.push({ exchange, address });
  }
  if (hosts.length > 0) return { result: 'hosts', hosts };
  if (lastTemp) return { result: 'tempfail', reason: lastTemp };
  return { result: 'permfail', reason: `no address for any mail exchanger of ${domain}` };
}

export interface RemoteDeliveryOptions {
  resolver: DnsResolver;
  hostname: string;
  port: number;
  timeoutMs: number;
}

/** Delivers to recipients that share one domain; results per recipient. */
export async function deliverRemote(
  opts: RemoteDeliveryOptions,
  domain: string,
  message: { from: string; to: string[]; parts: Uint8Array[]; size: number },
): Promise<Map<string, RecipientResult>> {
  const resolution = await resolveMx(opts.resolver, domain);
  if (resolution.result !== 'hosts') {
    const r: RecipientResult = { result: resolution.result, reason: resolution.reason };
    return new Map(message.to.map((to) => [to, r]));
  }
  let results = new Map<string, RecipientResult>();
  for (const host of resolution.hosts) {
    results = await sendMessage({
      host: host.address,
      port: opts.port,
      servername: host.exchange,
      lmtp: false,
      name: opts.hostname,
      from: message.from,
      to: message.to,
      parts: message.parts,
      size: message.size,
      opportunisticTls: true,
      timeoutMs: opts.timeoutMs,
    });
    // Try the next MX only if this one could not take anything (RFC 5321 5.1).
    if ([...results.values()].some((r) => r.result !== 'tempfail')) break;
  }
  return results;
}
