/**
 * Addresses for SPF, parsed once into numbers so matching allocates nothing: IPv4 as an unsigned
 * 32-bit number, IPv6 as four 32-bit words. Parsers are hand-written (no regex) and strict: they
 * accept exactly the ABNF of RFC 7208 12 (ip4-network without leading zeros, RFC 4291 2.2 text
 * forms for IPv6), which also covers what resolvers return in A and AAAA answers.
 */

/** The SMTP client's address as check_host() uses it. */
export interface SpfIp {
  /** 4 also for an IPv4-mapped IPv6 address (RFC 7208 5: "MUST still be considered an IPv4 address"). */
  family: 4 | 6;
  /** The IPv4 address (family 4). */
  v4: number;
  /** The IPv6 address in four words (family 6). */
  v6: Uint32Array;
}

/** Parses a dotted quad strictly (RFC 7208 12 qnum: 0-255, no leading zeros); -1 if invalid. */
export function parseIpv4(text: string, start = 0, end = text.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1; // "01": leading zero
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

const hextets = new Uint16Array(8); // scratch: parsing is synchronous, so one buffer serves all

/** Parses an IPv6 address (RFC 4291 2.2 forms 1-3) into `out`; false if invalid. */
export function parseIpv6(text: string, out: Uint32Array): boolean {
  const n = text.length;
  if (n < 2 || n > 45) return false;
  let i = 0;
  let count = 0;
  let gap = -1; // hextet index where "::" stands
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    const start = i;
    let value = 0;
    while (i < n && i - start < 5) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    if (i < n && text.charCodeAt(i) === 46) {
      // Form 3: the low 32 bits as a dotted quad, only in the last place.
      if (count > 6) return false;
      const v4 = parseIpv4(text, start, n);
      if (v4 < 0) return false;
      hextets[count++] = v4 >>> 16;
      hextets[count++] = v4 & 0xffff;
      i = n;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4 || count === 8) return false;
    hextets[count++] = value;
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false; // "::" at most once
      gap = count;
      i++;
    } else if (i === n) {
      return false; // a single trailing ":"
    }
  }
  if (gap < 0) {
    if (count !== 8) return false;
  } else {
    if (count > 7) return false; // "::" stands for at least one group
    const tail = count - gap;
    for (let k = 0; k < tail; k++) hextets[7 - k] = hextets[count - 1 - k]!;
    for (let k = gap; k < 8 - tail; k++) hextets[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = ((hextets[2 * w]! << 16) | hextets[2 * w + 1]!) >>> 0;
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const NO_V6 = new Uint32Array(4);

/** Parses the client address; an IPv4-mapped IPv6 address (::ffff:0:0/96) becomes IPv4. */
export function parseClientIp(text: string): SpfIp | undefined {
  const v4 = parseIpv4(text);
  if (v4 >= 0) return { family: 4, v4, v6: NO_V6 };
  const v6 = new Uint32Array(4);
  if (!parseIpv6(text, v6)) return undefined;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0xffff) return { family: 4, v4: v6[3]!, v6 };
  return { family: 6, v4: 0, v6 };
}

/** The netmask of an IPv4 prefix length, as an unsigned number. */
export function ipv4Mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The netmask of an IPv6 prefix length, in four words. */
export function ipv6Mask(prefix: number): Uint32Array {
  const mask = new Uint32Array(4);
  for (let w = 0; w < 4; w++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * w));
    mask[w] = ipv4Mask(bits);
  }
  return mask;
}

/** Whether `address` lies in `network`/`mask` (network already masked). */
export function inIpv4(address: number, network: number, mask: number): boolean {
  return ((address & mask) >>> 0) === network;
}

/** Whether `address` lies in `network`/`mask`, both IPv6 in words (network already masked). */
export function inIpv6(address: Uint32Array, network: Uint32Array, mask: Uint32Array): boolean {
  return (
    ((address[0]! & mask[0]!) >>> 0) === network[0] &&
    ((address[1]! & mask[1]!) >>> 0) === network[1] &&
    ((address[2]! & mask[2]!) >>> 0) === network[2] &&
    ((address[3]! & mask[3]!) >>> 0) === network[3]
  );
}

/** Whether two IPv6 addresses agree under a mask (neither pre-masked). */
export function sameIpv6Net(a: Uint32Array, b: Uint32Array, mask: Uint32Array): boolean {
  for (let w = 0; w < 4; w++) if (((a[w]! ^ b[w]!) & mask[w]!) !== 0) return false;
  return true;
}

/** Dotted quad of an IPv4 number. */
export function formatIpv4(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`;
}

/** RFC 5952 text of an IPv6 address: lowercase, no leading zeros, the longest zero run as "::". */
export function formatIpv6(v6: Uint32Array): string {
  const groups: number[] = [];
  for (let w = 0; w < 4; w++) groups.push(v6[w]! >>> 16, v6[w]! & 0xffff);
  let bestStart = -1;
  let bestLength = 1; // RFC 5952 4.2.2: never "::" for a single group
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  if (bestStart < 0) return hexGroups(groups, 0, 8);
  return `${hexGroups(groups, 0, bestStart)}::${hexGroups(groups, bestStart + bestLength, 8)}`;
}

function hexGroups(groups: number[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += i === from ? groups[i]!.toString(16) : `:${groups[i]!.toString(16)}`;
  return out;
}

/** The client address as people write it: %{c} (RFC 7208 7.3). */
export function formatIp(ip: SpfIp): string {
  return ip.family === 4 ? formatIpv4(ip.v4) : formatIpv6(ip.v6);
}

/**
 * %{i} (RFC 7208 7.3): the dotted quad, or for IPv6 the 32 nibbles separated by dots, in the
 * lowercase of the RFC 7208 7.4 example ("1.0.b.c.0.0…"; RFC 4408 8.1 had written them uppercase).
 */
export function dotFormat(ip: SpfIp): string {
  if (ip.family === 4) return formatIpv4(ip.v4);
  return nibbles(ip.v6, false);
}

const HEX = '0123456789abcdef';

/** The 32 nibbles of an IPv6 address, dot-separated, most significant first or reversed. */
function nibbles(v6: Uint32Array, reversed: boolean): string {
  let out = '';
  for (let k = 0; k < 32; k++) {
    const n = reversed ? 31 - k : k;
    const nibble = (v6[n >>> 3]! >>> (28 - 4 * (n & 7))) & 0xf;
    out += k === 0 ? HEX[nibble]! : `.${HEX[nibble]!}`;
  }
  return out;
}

/** The PTR question name for the address (RFC 1035 3.5 in-addr.arpa, RFC 3596 2.5 ip6.arpa). */
export function reverseName(ip: SpfIp): string {
  if (ip.family === 6) return `${nibbles(ip.v6, true)}.ip6.arpa`;
  const v4 = ip.v4;
  return `${v4 & 0xff}.${(v4 >>> 8) & 0xff}.${(v4 >>> 16) & 0xff}.${v4 >>> 24}.in-addr.arpa`;
}
