/** Address parsing and matching for SPF: strict RFC 7208 12 / RFC 4291 2.2 forms, RFC 5952 output. */
import { describe, expect, it } from 'vitest';
import { formatIpv6, inIpv4, ipv4Mask, ipv6Mask, parseClientIp, parseIpv4, parseIpv6, reverseName, sameIpv6Net } from '../../../src/auth/spf/ip.js';

describe('parseIpv4 (RFC 7208 12 ip4-network)', () => {
  it.each([
    ['0.0.0.0', 0],
    ['192.0.2.1', 0xc0000201],
    ['255.255.255.255', 0xffffffff],
  ])('%s → %d', (text, value) => expect(parseIpv4(text)).toBe(value));
  it.each(['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.04', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '', '1.2.3.'])('%j is refused', (text) => {
    expect(parseIpv4(text)).toBe(-1);
  });
});

describe('parseIpv6 (RFC 4291 2.2)', () => {
  const words = (text: string): number[] | undefined => {
    const out = new Uint32Array(4);
    return parseIpv6(text, out) ? [...out] : undefined;
  };
  it.each([
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['2001:db8::cb01', [0x20010db8, 0, 0, 0xcb01]],
    ['2001:DB8:0:0:0:0:0:CB01', [0x20010db8, 0, 0, 0xcb01]],
    ['CAFE:BABE::192.168.218.40', [0xcafebabe, 0, 0, 0xc0a8da28]],
    ['::ffff:1.2.3.4', [0, 0, 0xffff, 0x01020304]],
    ['1::', [0x00010000, 0, 0, 0]],
    ['1:2:3:4:5:6:7::', [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ['::2:3:4:5:6:7:8', [0x00000002, 0x00030004, 0x00050006, 0x00070008]],
  ])('%s', (text, expected) => expect(words(text)).toEqual(expected));
  it.each([':CAFE::BABE', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', '1:2:3:4:5:6:7:8::', 'fe80::1%eth0', '::1.2.3', ':::', '1:', 'g::1', '1.2.3.4'])(
    '%j is refused',
    (text) => expect(words(text)).toBeUndefined(),
  );
});

describe('client addresses (RFC 7208 5: IPv4-mapped IPv6 is IPv4)', () => {
  it('maps ::ffff:a.b.c.d to IPv4', () => {
    expect(parseClientIp('::FFFF:1.2.3.4')).toMatchObject({ family: 4, v4: 0x01020304 });
  });
  it('keeps other IPv6 addresses, including IPv4-compatible ones', () => {
    expect(parseClientIp('::1.2.3.4')?.family).toBe(6);
  });
  it('refuses non-addresses', () => expect(parseClientIp('example.com')).toBeUndefined());
});

describe('formatting and reverse names', () => {
  it.each([
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'], // longest zero run
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:1:1:1:1:0:1', '2001:db8:1:1:1:1:0:1'], // RFC 5952 4.2.2: no "::" for one group
    ['::', '::'],
  ])('%s → %s (RFC 5952)', (text, expected) => {
    const out = new Uint32Array(4);
    parseIpv6(text, out);
    expect(formatIpv6(out)).toBe(expected);
  });
  it('builds in-addr.arpa and ip6.arpa names', () => {
    expect(reverseName(parseClientIp('192.0.2.3')!)).toBe('3.2.0.192.in-addr.arpa');
    expect(reverseName(parseClientIp('::ffff:192.0.2.3')!)).toBe('3.2.0.192.in-addr.arpa');
    expect(reverseName(parseClientIp('2001:db8::cb01')!)).toBe('1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  });
});

describe('masks and matching', () => {
  it.each([
    [0, 0],
    [1, 0x80000000],
    [24, 0xffffff00],
    [32, 0xffffffff],
  ])('/%d → %d', (prefix, mask) => expect(ipv4Mask(prefix)).toBe(mask));
  it('matches IPv4 networks', () => {
    const mask = ipv4Mask(24);
    expect(inIpv4(parseIpv4('192.0.2.200'), (parseIpv4('192.0.2.0') & mask) >>> 0, mask)).toBe(true);
    expect(inIpv4(parseIpv4('192.0.3.1'), (parseIpv4('192.0.2.0') & mask) >>> 0, mask)).toBe(false);
    expect(inIpv4(parseIpv4('203.0.113.9'), 0, ipv4Mask(0))).toBe(true);
  });
  it('matches IPv6 networks at word boundaries and inside words', () => {
    const a = new Uint32Array(4);
    const b = new Uint32Array(4);
    parseIpv6('2001:db8:1234::dead:beef', a);
    parseIpv6('2001:db8:1234::cafe:babe', b);
    expect(sameIpv6Net(a, b, ipv6Mask(64))).toBe(true);
    expect(sameIpv6Net(a, b, ipv6Mask(112))).toBe(false);
    parseIpv6('cafe:babe:8000::', a);
    parseIpv6('cafe:babe:ffff::1', b);
    expect(sameIpv6Net(a, b, ipv6Mask(33))).toBe(true);
    expect(sameIpv6Net(a, b, ipv6Mask(34))).toBe(false);
  });
});
