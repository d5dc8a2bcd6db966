/**
 * Macro expansion (RFC 7208 7): the examples of RFC 7208 7.4 verbatim, escapes, URL-escaping of
 * uppercase letters, explanation-only letters, truncation of long names (7.3), and %{p} through
 * check_host().
 */
import { describe, expect, it } from 'vitest';
import { checkHost } from '../../../src/auth/spf/evaluate.js';
import { dotFormat, formatIp, parseClientIp } from '../../../src/auth/spf/ip.js';
import { compileMacroString, expandMacroString, urlEscape, type MacroContext, type MacroValues } from '../../../src/auth/spf/macro.js';
import { toTargetName } from '../../../src/auth/spf/names.js';
import { zoneResolver } from '../../support/dns-server.js';

/** The values of RFC 7208 7.4: sender strong-bad@email.example.com, %{p} mx.example.org. */
function values(ip: string, overrides: Partial<MacroValues> = {}): MacroValues {
  const parsed = parseClientIp(ip);
  if (parsed === undefined) throw new Error(ip);
  return {
    s: 'strong-bad@email.example.com',
    l: 'strong-bad',
    o: 'email.example.com',
    d: 'email.example.com',
    i: dotFormat(parsed),
    p: 'mx.example.org',
    v: parsed.family === 4 ? 'in-addr' : 'ip6',
    h: 'mx.example.org',
    c: formatIp(parsed),
    r: 'mx.kagami.test',
    t: '1700000000',
    ...overrides,
  };
}

function expand(source: string, v: MacroValues, context: MacroContext = 'domain'): string {
  const compiled = compileMacroString(source, context);
  if (!compiled.ok) throw new Error(compiled.message);
  return expandMacroString(compiled.macro, v);
}

describe('RFC 7208 7.4 examples (IPv4 192.0.2.3)', () => {
  const v = values('192.0.2.3');
  it.each([
    ['%{s}', 'strong-bad@email.example.com'],
    ['%{o}', 'email.example.com'],
    ['%{d}', 'email.example.com'],
    ['%{d4}', 'email.example.com'],
    ['%{d3}', 'email.example.com'],
    ['%{d2}', 'example.com'],
    ['%{d1}', 'com'],
    ['%{dr}', 'com.example.email'],
    ['%{d2r}', 'example.email'],
    ['%{l}', 'strong-bad'],
    ['%{l-}', 'strong.bad'],
    ['%{lr}', 'strong-bad'],
    ['%{lr-}', 'bad.strong'],
    ['%{l1r-}', 'strong'],
    ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com'],
    ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com'],
    ['%{lr-}.lp.%{ir}.%{v}._spf.%{d2}', 'bad.strong.lp.3.2.0.192.in-addr._spf.example.com'],
    ['%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}', '3.2.0.192.in-addr.strong.lp._spf.example.com'],
    ['%{d2}.trusted-domains.example.net', 'example.com.trusted-domains.example.net'],
  ])('%s → %s', (source, expected) => expect(expand(source, v)).toBe(expected));
});

describe('RFC 7208 7.4 examples (IPv6 2001:db8::cb01)', () => {
  const v = values('2001:db8::cb01');
  it.each([
    ['%{ir}.%{v}._spf.%{d2}', '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com'],
    ['%{i}', '2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1'],
  ])('%s → %s', (source, expected) => expect(expand(source, v)).toBe(expected));
  it('%{c} is the RFC 5952 text of the address (explanations only)', () => {
    expect(expand('%{c}', values('2001:DB8:0:0:0:0:0:CB01'), 'explanation')).toBe('2001:db8::cb01');
  });
});

describe('escapes, transformers and delimiters (RFC 7208 7.1, 7.3)', () => {
  const v = values('192.0.2.3', { l: 'foo-bar+zip+quux', s: '~jack&jill=up-a_b3.c@example.com' });
  it.each([
    ['%%', '%'],
    ['%_', ' '],
    ['%-', '%20'],
    ['a%%b%_c%-d', 'a%b c%20d'],
    ['%{l2r+-}', 'bar.foo'], // several delimiters, rejoined with "."
    ['%{l+}', 'foo-bar.zip.quux'],
    ['%{L}', 'foo-bar%2Bzip%2Bquux'],
    ['%{S}', '~jack%26jill%3Dup-a_b3.c%40example.com'], // RFC 3986 unreserved stays, the rest is escaped
    ['%{d99}', 'email.example.com'], // more parts than there are: all of them
    ['%{D2R}', 'example.email'],
  ])('%s → %s', (source, expected) => expect(expand(source, v)).toBe(expected));

  it('URL-escapes everything outside RFC 3986 "unreserved", as UTF-8', () => {
    expect(urlEscape("A-z_0.9~!*'() é")).toBe('A-z_0.9~%21%2A%27%28%29%20%C3%A9');
  });

  it('a string without macros is compiled to a constant', () => {
    const compiled = compileMacroString('_spf.example.com', 'domain');
    expect(compiled.ok && compiled.macro.constant).toBe('_spf.example.com');
    const escaped = compileMacroString('a%%b', 'domain');
    expect(escaped.ok && escaped.macro.constant).toBe('a%b');
  });
});

describe('explanation-only letters and explanation text (RFC 7208 6.2, 7.2)', () => {
  const v = values('192.0.2.3');
  it('c, r and t expand in explanations', () => {
    expect(expand('%{c} is not allowed by %{d}; checked by %{r} at %{t}', v, 'explanation')).toBe(
      '192.0.2.3 is not allowed by email.example.com; checked by mx.kagami.test at 1700000000',
    );
  });
  it.each(['%{c}', '%{r}', '%{t}'])('%s is refused in a domain-spec', (source) => {
    const compiled = compileMacroString(`${source}.example.com`, 'domain');
    expect(compiled.ok).toBe(false);
    expect(!compiled.ok && compiled.message).toContain('only be used in explanation text');
  });
  it.each([
    ['The %{x}-files.', 'unknown macro letter'],
    ['100%', '"%" at the end'],
    ['\u00efExplanation', 'U+00EF'],
    ['tab\there', 'U+0009 (TAB)'],
  ])('%j is a syntax error: %s', (text, words) => {
    const compiled = compileMacroString(text, 'explanation');
    expect(!compiled.ok && compiled.message).toContain(words);
  });
});

describe('target names (RFC 7208 7.3)', () => {
  it('drops one trailing dot', () => expect(toTargetName('example.com.')).toBe('example.com'));
  it('truncates labels from the left past 253 characters', () => {
    const o = 'somewhat.long.exp.example.com';
    const expanded = `foobar.${Array(8).fill(o).join('.')}.example.com`;
    expect(expanded.length).toBe(258);
    expect(toTargetName(expanded)).toBe(`${Array(8).fill(o).join('.')}.example.com`);
  });
});

describe('%{p}: the validated name of the client (RFC 7208 7.3)', () => {
  const zone = {
    'e.example.com': { TXT: ['v=spf1 exists:%{p}.ok.example.com -all'] },
    '42.218.168.192.in-addr.arpa': { PTR: ['other.example.net', 'mx.e.example.com', 'unvalidated.e.example.com'] },
    'mx.e.example.com': { A: ['192.168.218.42'] },
    'other.example.net': { A: ['192.168.218.42'] },
    'unvalidated.e.example.com': { A: ['192.0.2.99'] },
    'mx.e.example.com.ok.example.com': { A: ['127.0.0.2'] },
  };
  it('prefers a validated name under <domain>', async () => {
    const result = await checkHost({ ip: '192.168.218.42', domain: 'e.example.com', sender: 'a@e.example.com', helo: 'h' }, zoneResolver(zone));
    expect(result.result).toBe('pass');
    expect(result.trace.some((s) => s.term === '%{p}' && s.query?.type === 'PTR')).toBe(true);
  });
  it('is "unknown" when no name validates', async () => {
    const result = await checkHost({ ip: '192.0.2.1', domain: 'e.example.com', sender: 'a@e.example.com', helo: 'h' }, zoneResolver(zone));
    expect(result.result).toBe('fail');
    expect(result.trace.some((s) => s.query?.name === 'unknown.ok.example.com')).toBe(true);
  });
});
