/**
 * Where queries go: parsing `--dns` style server specs and the system's /etc/resolv.conf.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { DnsServerAddress } from './types.js';

/** RFC 1035 4.2: DNS servers listen on port 53. */
export const DNS_PORT = 53;

/** Used when resolv.conf names no server (resolv.conf(5) documents the same default). */
export const FALLBACK_DNS_SERVER: DnsServerAddress = Object.freeze({ host: '127.0.0.1', port: DNS_PORT });

/**
 * Parses `HOST`, `HOST:PORT`, `[IPv6]`, `[IPv6]:PORT` or a bare IPv6 address (`::1`) into a
 * server address, port 53 by default. HOST must be an IP address: a host name would need DNS to
 * find the DNS server. Throws an Error that names the bad input for anything else (this runs on
 * configuration, where a clear early failure is what the user needs).
 */
export function parseDnsServer(spec: string): DnsServerAddress {
  const text = spec.trim();
  const fail = (why: string): never => {
    throw new Error(`invalid DNS server "${spec}": ${why} (expected IP, IP:PORT or [IPv6]:PORT)`);
  };
  if (text === '') return fail('empty');

  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1] ?? '';
    portText = bracketed[2];
    if (isIP(host) !== 6) return fail(`"${host}" in brackets is not an IPv6 address`);
  } else if (isIP(text) === 6) {
    host = text; // bare IPv6: every colon belongs to the address, so no port
  } else {
    const parts = text.split(':');
    if (parts.length > 2) return fail('an IPv6 address with a port must be written [addr]:port');
    host = parts[0] ?? '';
    portText = parts[1];
    if (isIP(host) !== 4) return fail(`"${host}" is not an IP address`);
  }

  if (portText === undefined) return { host, port: DNS_PORT };
  if (!/^\d{1,5}$/.test(portText)) return fail(`port "${portText}" is not a number`);
  const port = Number(portText);
  if (port < 1 || port > 65535) return fail(`port ${port} is out of range 1-65535`);
  return { host, port };
}

/** Formats an address the way parseDnsServer reads it: "192.0.2.1:53", "[2001:db8::1]:53". */
export function formatDnsServer(server: DnsServerAddress): string {
  return isIP(server.host) === 6 ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * Reads the `nameserver` lines of a resolv.conf(5) text, in order. Lines that are comments
 * (`#` or `;`), other options or unparseable addresses are skipped: the system file is not ours
 * to reject.
 */
export function readResolvConf(text: string): DnsServerAddress[] {
  const servers: DnsServerAddress[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/[#;].*$/, '').trim();
    const match = /^nameserver\s+(\S+)/.exec(line);
    const address = match?.[1];
    if (address === undefined || isIP(address) === 0) continue;
    servers.push({ host: address, port: DNS_PORT });
  }
  return servers;
}

/** The servers named in /etc/resolv.conf, or 127.0.0.1:53 when it is missing or names none. */
export function systemDnsServers(path = '/etc/resolv.conf'): DnsServerAddress[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [{ ...FALLBACK_DNS_SERVER }];
  }
  const servers = readResolvConf(text);
  return servers.length > 0 ? servers : [{ ...FALLBACK_DNS_SERVER }];
}
