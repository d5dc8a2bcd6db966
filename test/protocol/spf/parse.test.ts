/**
 * Record selection and parsing (RFC 7208 4.5, 4.6, 5, 6, 7.1, 12): what is a record, what is a
 * syntax error and the words it is reported with, and the parsed shape (masks precomputed).
 */
import { describe, expect, it } from 'vitest';
import { isSpfRecord, parseDomainSpec, parseSpfRecord, selectSpfRecord } from '../../../src/auth/spf/parse.js';
import type { SpfParseErrorCode } from '../../../src/auth/spf/types.js';

describe('isSpfRecord and selectSpfRecord (RFC 7208 4.5)', () => {
  it.each([
    ['v=spf1', true],
    ['v=spf1 -all', true],
    ['V=SPF1 -all', true],
    ['v=SpF1 ~all', true],
    ['v=spf10', false],
    ['v=spf1-all', false],
    ['v=spf2.0/pra -all', false],
    [' v=spf1 -all', false],
    ['spf1', false],
    ['', false],
  ])('%j → %s', (text, expected) => expect(isSpfRecord(text)).toBe(expected));

  it('picks the single v=spf1 record among other TXT records', () => {
    expect(selectSpfRecord(['google-site-verification=x', 'v=spf1 mx -all', 'v=spf10'])).toEqual({ kind: 'one', text: 'v=spf1 mx -all' });
  });
  it('finds none when no record starts with v=spf1', () => {
    expect(selectSpfRecord(['v=spf1mx', 'hello'])).toEqual({ kind: 'none' });
    expect(selectSpfRecord([])).toEqual({ kind: 'none' });
  });
  it('counts several records, even identical ones', () => {
    expect(selectSpfRecord(['v=spf1 -all', 'v=spf1 -all'])).toEqual({ kind: 'many', count: 2 });
    expect(selectSpfRecord(['v=spf1 -all', 'V=sPf1 +all', 'x'])).toEqual({ kind: 'many', count: 2 });
  });
});

describe('parseSpfRecord: valid records', () => {
  it.each([
    'v=spf1',
    'v=spf1 ',
    'v=spf1  a  -all ',
    'v=spf1 +all',
    'v=spf1 ALL',
    'v=spf1 Include:_spf.example.com -ALL',
    'v=spf1 a a:mail.example.com a/24 a:mail.example.com/24//64 a//0',
    'v=spf1 mx mx:example.com mx/30 mx:example.com//48',
    'v=spf1 ptr ptr:example.com',
    'v=spf1 ip4:192.0.2.0/24 ip4:0.0.0.0/0 ip6:2001:db8::/32 ip6:::1.1.1.1/0 ip6:::ffff:192.0.2.1',
    'v=spf1 exists:%{i}._spf.%{d} exists:%{l1r-}.%{d2}',
    'v=spf1 a:foo:bar/baz.example.com a:foo.example.xn--zckzah a:%{d} a:x.%%.%_.%-.example.com',
    'v=spf1 redirect=_spf.example.com',
    'v=spf1 -all exp=explain._spf.%{d}',
    'v=spf1 moo.cow-far_out=man:dog/cat default=pass foo=%{c}',
    'v=spf1 a:trailing.dot.example.com.',
  ])('%j parses', (text) => {
    const parsed = parseSpfRecord(text);
    expect(parsed.ok ? 'ok' : parsed.error.message).toBe('ok');
  });

  it('precomputes masks and the masked network', () => {
    const parsed = parseSpfRecord('v=spf1 ip4:192.0.2.77/24 ip6:2001:db8:ffff::1/33 -a:mail.example.com/16//48 ~all');
    if (!parsed.ok) throw new Error(parsed.error.message);
    const [ip4, ip6, a, all] = parsed.record.mechanisms;
    expect(ip4).toMatchObject({ kind: 'ip4', cidr: 24, mask: 0xffffff00, network: 0xc0000200, result: 'pass' });
    expect(ip6?.kind === 'ip6' && [...ip6.network]).toEqual([0x20010db8, 0x80000000, 0, 0]);
    expect(a).toMatchObject({ kind: 'a', qualifier: '-', result: 'fail', cidr4: 16, cidr6: 48, mask4: 0xffff0000 });
    expect(a?.kind === 'a' && [...a.mask6]).toEqual([0xffffffff, 0xffff0000, 0, 0]);
    expect(all).toMatchObject({ kind: 'all', qualifier: '~', result: 'softfail', text: '~all' });
    expect(parsed.record.hasAll).toBe(true);
  });

  it('keeps modifiers apart from mechanisms, in any position (RFC 7208 6)', () => {
    const parsed = parseSpfRecord('v=spf1 redirect=_spf.example.com a exp=why.example.com foo=bar');
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(parsed.record.mechanisms.map((m) => m.text)).toEqual(['a']);
    expect(parsed.record.redirect?.source).toBe('_spf.example.com');
    expect(parsed.record.exp?.source).toBe('why.example.com');
    expect(parsed.record.unknownModifiers).toEqual([{ name: 'foo', value: 'bar' }]);
  });
});

describe('parseSpfRecord: every syntax error is a permerror with words that say why', () => {
  const cases: Array<[string, SpfParseErrorCode, string, string]> = [
    // record, code, offending term, words in the message
    ['v=spf1 ip4:1.2.3.4 -all moo', 'unknown-mechanism', 'moo', 'unknown mechanism "moo"'],
    ['v=spf1 redirect:example.com', 'unknown-mechanism', 'redirect:example.com', '"redirect" is a modifier'],
    ['v=spf1 192.0.2.1', 'unknown-mechanism', '192.0.2.1', '"ip4:192.0.2.1"'],
    ['v=spf1 =all', 'unknown-mechanism', '=all', 'modifier name starts with a letter'],
    ['v=spf1 1up=foo', 'unknown-mechanism', '1up=foo', 'unknown mechanism'],
    ['v=spf1 moo.cow/far_out=man:dog/cat', 'unknown-mechanism', 'moo.cow/far_out=man:dog/cat', 'unknown mechanism'],
    ['v=spf1 -all.', 'unknown-mechanism', '-all.', 'unknown mechanism "all."'],
    ['v=spf1 -all:foobar', 'unexpected-argument', '-all:foobar', '"all" takes no argument'],
    ['v=spf1 -all/8', 'unexpected-argument', '-all/8', '"all" takes no argument'],
    ['v=spf1 a/33', 'bad-cidr', 'a/33', '"/33" is more than 32'],
    ['v=spf1 a//129', 'bad-cidr', 'a//129', '"/129" is more than 128'],
    ['v=spf1 a/24/64', 'bad-cidr', 'a/24/64', 'write "/24" for IPv4, "//64" for IPv6'],
    ['v=spf1 ip4:1.2.3.4/33', 'bad-cidr', 'ip4:1.2.3.4/33', 'more than 32'],
    ['v=spf1 ip4:1.2.3.4/032', 'bad-cidr', 'ip4:1.2.3.4/032', 'leading zero'],
    ['v=spf1 ip4:1.2.3.4//32', 'bad-cidr', 'ip4:1.2.3.4//32', 'not a dual one'],
    ['v=spf1 ip6:::1/129', 'bad-cidr', 'ip6:::1/129', 'more than 128'],
    ['v=spf1 ip4:1.2.3.4/', 'bad-cidr', 'ip4:1.2.3.4/', 'bad CIDR length "/"'],
    ['v=spf1 ip4:1.2.3', 'bad-ip4', 'ip4:1.2.3', 'all four octets are needed'],
    ['v=spf1 ip4:1.2.3.4:8080', 'bad-ip4', 'ip4:1.2.3.4:8080', 'a port does not belong in SPF'],
    ['v=spf1 ip4:192.0.02.1', 'bad-ip4', 'ip4:192.0.02.1', 'without leading zeros'],
    ['v=spf1 ip4:256.0.0.1', 'bad-ip4', 'ip4:256.0.0.1', 'is not an IPv4 address'],
    ['v=spf1 ip4', 'missing-argument', 'ip4', 'needs an address'],
    ['v=spf1 ip6::CAFE::BABE', 'bad-ip6', 'ip6::CAFE::BABE', 'is not an IPv6 address'],
    ['v=spf1 ip6:1:2:3:4:5:6:7:8:9', 'bad-ip6', 'ip6:1:2:3:4:5:6:7:8:9', 'is not an IPv6 address'],
    ['v=spf1 include', 'missing-argument', 'include', '"include" needs a domain'],
    ['v=spf1 include:', 'missing-argument', 'include:', '"include" needs a domain'],
    ['v=spf1 include:_spf.example.com/24', 'unexpected-argument', 'include:_spf.example.com/24', 'takes no CIDR length'],
    ['v=spf1 exists', 'missing-argument', 'exists', '"exists" needs a domain'],
    ['v=spf1 exists:mail.example.com/24', 'unexpected-argument', 'exists:mail.example.com/24', 'takes no CIDR length'],
    ['v=spf1 ptr/0', 'unexpected-argument', 'ptr/0', 'takes no CIDR length'],
    ['v=spf1 ptr:', 'missing-argument', 'ptr:', '"ptr" needs a domain'],
    ['v=spf1 mx:', 'missing-argument', 'mx:', 'needs a domain after the colon'],
    ['v=spf1 a:museum', 'bad-domain-spec', 'a:museum', 'at least two labels'],
    ['v=spf1 a:museum.', 'bad-domain-spec', 'a:museum.', 'at least two labels'],
    ['v=spf1 a:abc.123', 'bad-domain-spec', 'a:abc.123', 'the last label "123" is all digits'],
    ['v=spf1 a:111.222.33.44', 'bad-domain-spec', 'a:111.222.33.44', 'use "ip4:111.222.33.44"'],
    ['v=spf1 a:example.com:8080', 'bad-domain-spec', 'a:example.com:8080', 'ports do not belong in SPF'],
    ['v=spf1 mx:example.-com', 'bad-domain-spec', 'mx:example.-com', 'starts or ends with "-"'],
    ['v=spf1 a:foo-bar', 'bad-domain-spec', 'a:foo-bar', 'at least two labels'],
    ['v=spf1 redirect=', 'missing-argument', 'redirect=', '"redirect=" needs a domain'],
    ['v=spf1 exp= -all', 'missing-argument', 'exp=', '"exp=" needs a domain'],
    ['v=spf1 redirect=-all ?all', 'bad-domain-spec', 'redirect=-all', 'is not a valid domain'],
    ['v=spf1 redirect=a.example.com -all redirect=b.example.com', 'duplicate-modifier', 'redirect=b.example.com', 'appears more than once'],
    ['v=spf1 exp=a.example.com -all exp=b.example.com', 'duplicate-modifier', 'exp=b.example.com', 'appears more than once'],
    ['v=spf1 -exists:%(ir).sbl.example.com', 'bad-macro', '-exists:%(ir).sbl.example.com', 'write "%%" for a literal percent'],
    ['v=spf1 exists:foo%.sbl.example.com', 'bad-macro', 'exists:foo%.sbl.example.com', '"%." in'],
    ['v=spf1 a:%{a}.example.com', 'bad-macro', 'a:%{a}.example.com', 'unknown macro letter'],
    ['v=spf1 a:%{d0}.example.com', 'bad-macro', 'a:%{d0}.example.com', 'the number must be nonzero'],
    ['v=spf1 a:%{d2x}.example.com', 'bad-macro', 'a:%{d2x}.example.com', 'bad transformer or delimiter "x"'],
    ['v=spf1 a:%{d.example.com', 'bad-macro', 'a:%{d.example.com', 'unterminated macro'],
    ['v=spf1 -all exp=%{r}.example.com', 'bad-macro', 'exp=%{r}.example.com', 'only be used in explanation text'],
    ['v=spf1 exists:%{c}.example.com', 'bad-macro', 'exists:%{c}.example.com', 'only be used in explanation text'],
    ['v=spf1 -all foo=%abc', 'bad-macro', 'foo=%abc', 'in unknown modifier "foo"'],
    ['v=spf1 a:ctrl.example.com\rptr -all', 'invalid-character', 'a:ctrl.example.com\r', 'U+000D (CR)'],
    ['v=spf1 ip4:192.0.2.5\n include:x.example.com', 'invalid-character', 'ip4:192.0.2.5\n', 'terms are separated by spaces only'],
    ['v=spf1 a:foo.example.com\0', 'invalid-character', 'a:foo.example.com\0', 'U+0000 (NUL)'],
    ['v=spf1 \u0080a:example.net -all', 'invalid-character', '\u0080', 'records are US-ASCII'],
    ['v=spf1 a:example.net \u0096all', 'invalid-character', '\u0096', 'U+0096'],
    ['v=spf1 a:\u00ef\u00bb\u00bfgarbage.example.net -all', 'invalid-character', 'a:\u00ef', 'US-ASCII'],
    ['spf1 -all', 'not-spf', 'spf1 -all', 'does not start with "v=spf1"'],
  ];
  it.each(cases)('%j → %s', (text, code, term, words) => {
    const parsed = parseSpfRecord(text);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.code).toBe(code);
    expect(parsed.error.term).toBe(term);
    expect(parsed.error.message).toContain(words);
    expect(parsed.error.message).toMatch(/RFC 7208/);
  });
});

describe('parseDomainSpec (RFC 7208 7.1): syntax before expansion, never after', () => {
  it.each([
    ['example.com', true],
    ['example.com.', true],
    ['%{d}', true],
    ['%{ir}.%{v}._spf.%{d2}', true],
    ['%{l}.%%', true], // ends with a macro-expand: no top label needed
    ['mail.example...com', true], // valid syntax; the empty label makes it non-existent at query time
    ['foo:bar/baz.example.com', true],
    ['example.%{d}x', false], // the last label mixes a macro and a literal
    ['%{d}com', false],
    ['com', false],
    ['.com', true], // domain-spec = macro-string domain-end with an empty macro-string
  ])('%j valid: %s', (spec, valid) => {
    expect('code' in parseDomainSpec(spec, spec)).toBe(!valid);
  });
});
