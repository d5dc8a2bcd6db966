import { describe, expect, it } from 'vitest';
import { encodableName, expandIpv6, normalizeName, reverseName } from '../../../src/dns/names.js';

describe('reverseName', () => {
  it.each([
    ['192.0.2.1', '1.2.0.192.in-addr.arpa'],
    ['10.0.0.255', '255.0.0.10.in-addr.arpa'],
    ['2001:db8::1', '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'],
    ['2001:DB8:0:0:0:0:0:1', '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'],
    ['::1', `1.${'0.'.repeat(31)}ip6.arpa`],
    ['::', `${'0.'.repeat(32)}ip6.arpa`],
    ['fe80::1%eth0', `1.${'0.'.repeat(27)}0.8.e.f.ip6.arpa`],
    ['::ffff:192.0.2.1', '1.2.0.192.in-addr.arpa'],
    ['64:ff9b::192.0.2.1', `1.0.2.0.0.0.0.c.${'0.'.repeat(16)}b.9.f.f.4.6.0.0.ip6.arpa`], // NAT64 stays IPv6
  ])('%s → %s', (ip, name) => {
    expect(reverseName(ip)).toBe(name);
  });

  it.each(['', 'example.com', '192.0.2', '1.2.3.4.5', 'gggg::1'])('%j is not an address', (ip) => {
    expect(reverseName(ip)).toBeUndefined();
  });

  it('expands IPv6 addresses to eight groups', () => {
    expect(expandIpv6('2001:db8::1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    expect(expandIpv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(expandIpv6('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]);
  });
});

describe('encodableName', () => {
  it.each([
    ['Example.COM.', 'example.com'],
    ['a:b%c d.example.com', 'a:b%c d.example.com'],
    [`${'x'.repeat(63)}.example.com`, `${'x'.repeat(63)}.example.com`],
    [`${'abcdefgh.'.repeat(28)}a`, `${'abcdefgh.'.repeat(28)}a`], // 253 characters: the maximum
  ])('%j is sent as %j', (name, expected) => {
    expect(encodableName(name)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['.', 'the root alone'],
    ['a..b', 'an empty label'],
    ['.example.com', 'a leading dot'],
    [`${'x'.repeat(64)}.example.com`, 'a 64-octet label'],
    [`${'é'.repeat(32)}.example.com`, 'a label of 64 UTF-8 octets'],
    [`${'abcdefgh.'.repeat(28)}ab`, '254 characters'],
    ['a\nb.example.com', 'a line break'],
  ])('%j cannot be sent (%s)', (name) => {
    expect(encodableName(name)).toBeUndefined();
  });

  it('normalizes case and one trailing dot', () => {
    expect(normalizeName('MiXeD.Example.')).toBe('mixed.example');
  });
});
