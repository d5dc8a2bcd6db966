/**
 * Domain-name helpers shared by the stub resolver, the cache and the in-memory zone: one place
 * decides what a name looks like on the wire, so every DnsResolver answers the same name alike.
 */
import { isIP } from 'node:net';

/** RFC 1035 2.3.4: a label is at most 63 octets. */
export const MAX_LABEL_OCTETS = 63;
/** RFC 1035 2.3.4: a name is at most 255 octets on the wire, i.e. 253 in text form. */
export const MAX_NAME_OCTETS = 255;

/** Lowercases a name and drops one trailing dot: the form used for comparison and cache keys. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Returns the normalized name if it can be sent in a query, else undefined.
 *
 * Any octets are allowed inside a label (RFC 2181 11): SPF macro expansion (RFC 7208 7) produces
 * names with `:` `%` or spaces, and they must be asked for as they are. What cannot be encoded
 * is an empty label ("a..b", a leading dot), a label over 63 octets or a name over 255 octets.
 * Line terminators are refused too: dns-packet strips dots around them with a multi-line regex,
 * so the name on the wire would not be the name asked for.
 */
export function encodableName(name: string): string | undefined {
  const normalized = normalizeName(name);
  if (normalized === '' || /[\n\r\u2028\u2029]/.test(normalized)) return undefined;
  let wire = 1; // the root label
  for (const label of normalized.split('.')) {
    const octets = Buffer.byteLength(label);
    if (octets === 0 || octets > MAX_LABEL_OCTETS) return undefined;
    wire += octets + 1;
  }
  return wire <= MAX_NAME_OCTETS ? normalized : undefined;
}

/**
 * Builds the reverse-lookup name for an address (RFC 1035 3.5 in-addr.arpa, RFC 3596 2.5
 * ip6.arpa), or undefined if `ip` is not an address. An IPv4-mapped IPv6 address
 * (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4 peer) is reversed as the IPv4
 * address it is: ip6.arpa holds no PTR records for mapped addresses.
 */
export function reverseName(ip: string): string | undefined {
  const address = ip.split('%')[0] ?? ip; // drop an IPv6 zone index ("fe80::1%eth0")
  const family = isIP(address);
  if (family === 4) return ipv4Reverse(address);
  if (family !== 6) return undefined;
  const hextets = expandIpv6(address);
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) {
    const [hi = 0, lo = 0] = hextets.slice(6);
    return ipv4Reverse(`${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`);
  }
  const nibbles = hextets.map((h) => h.toString(16).padStart(4, '0')).join('');
  return `${[...nibbles].reverse().join('.')}.ip6.arpa`;
}

function ipv4Reverse(address: string): string {
  // Number() drops leading zeros so "010.0.0.1" and "10.0.0.1" give one name.
  return `${address.split('.').map(Number).reverse().join('.')}.in-addr.arpa`;
}

/** Expands an IPv6 address (already checked by isIP) into its eight 16-bit groups. */
export function expandIpv6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    // RFC 4291 2.2 form 3: the last 32 bits written as a dotted quad.
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((h) => parseInt(h, 16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}
