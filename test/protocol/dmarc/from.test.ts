/**
 * The Author Domain from RFC5322.From (RFC 9989 §5.3.1, RFC 5322 3.4, 3.6.2): only the addr-spec
 * counts, whatever the display name, comments or encoded words pretend.
 */
import { describe, expect, it } from 'vitest';
import { extractFromDomain } from '../../../src/auth/dmarc/from.js';

describe('extractFromDomain', () => {
  it.each([
    ['bare addr-spec', 'user@example.com', 'example.com'],
    ['angle-addr', '<user@example.com>', 'example.com'],
    ['display name', 'Jane Doe <jane@example.com>', 'example.com'],
    ['uppercase domain, lowercased', 'Jane <jane@EXAMPLE.Com>', 'example.com'],
    ['quoted display name that looks like a domain', '"paypal.com" <evil@x.test>', 'x.test'],
    ['unquoted display name that looks like a domain (obs-phrase)', 'paypal.com <evil@x.test>', 'x.test'],
    ['quoted display name that looks like an address', '"support@paypal.com" <evil@x.test>', 'x.test'],
    ['quoted display name with <> and a comma', '"Pay, Pal <service@paypal.com>" <evil@x.test>', 'x.test'],
    ['escaped quote in a display name', '"a \\" <b@paypal.com>" <evil@x.test>', 'x.test'],
    ['comment that looks like an address', 'evil@x.test (support@paypal.com)', 'x.test'],
    ['nested comments', 'Jane (work (really) <a@paypal.com>) <jane@example.com>', 'example.com'],
    ['comment inside the addr-spec', 'jane@(comment)example.com', 'example.com'],
    ['comment before the angle-addr', '(PayPal) <evil@x.test>', 'x.test'],
    ['quoted local part containing @', '"paypal.com@evil"@x.test', 'x.test'],
    ['quoted local part with @ in an angle-addr', 'Jane <"jane@paypal.com"@x.test>', 'x.test'],
    ['RFC 2047 encoded word that looks like an address', '=?utf-8?q?service@paypal.com?= <evil@x.test>', 'x.test'],
    ['RFC 2047 encoded word with specials inside', '=?utf-8?q?a<b@paypal.com>?= <evil@x.test>', 'x.test'],
    ['base64 encoded word', '=?UTF-8?B?UGF5UGFs?= <evil@x.test>', 'x.test'],
    ['folded header value', 'Jane Doe\r\n <jane@example.com>', 'example.com'],
    ['group with one mailbox', 'Team: jane@example.com;', 'example.com'],
    ['group with two mailboxes of one domain', 'Team: jane@example.com, john@example.com;', 'example.com'],
    ['two mailboxes, one domain (§5.3.1 counts domains)', 'jane@example.com, John <john@EXAMPLE.com>', 'example.com'],
    ['U-label → A-label (§5.3.1)', 'Jörg <j@münchen.example>', 'xn--mnchen-3ya.example'],
    ['underscore in a label', 'a@mail_out.example.com', 'mail_out.example.com'],
    ['obs-domain with spaces around dots', 'a@example . com', 'example.com'],
  ])('%s', (_name, value, domain) => {
    expect(extractFromDomain([value])).toEqual({ ok: true, domain });
  });

  it.each([
    ['no From header field', [], 'no From'],
    ['two From header fields', ['a@example.com', 'b@example.com'], 'multiple From'],
    ['two From fields, same address', ['a@example.com', 'a@example.com'], 'multiple From'],
    ['empty value', [''], 'no From'],
    ['empty group', ['undisclosed-recipients:;'], 'no From'],
    ['two domains in one field', ['a@example.com, b@paypal.com'], 'multiple addresses'],
    ['two domains in a group', ['G: a@example.com, b@paypal.com;'], 'multiple addresses'],
    ['a mailbox and a group of another domain', ['a@example.com, G: b@paypal.com;'], 'multiple addresses'],
    ['unquoted @ in the display name', ['support@paypal.com <evil@x.test>'], 'unparseable'],
    ['two angle-addrs', ['<a@example.com> <b@paypal.com>'], 'unparseable'],
    ['text after the angle-addr', ['<a@example.com> b@paypal.com'], 'unparseable'],
    ['no @', ['just a name'], 'unparseable'],
    ['no local part', ['@example.com'], 'unparseable'],
    ['domain literal', ['a@[192.0.2.1]'], 'unparseable'],
    ['trailing dot', ['a@example.com.'], 'unparseable'],
    ['empty label', ['a@example..com'], 'unparseable'],
    ['encoded word as the domain', ['a@=?utf-8?q?paypal.com?='], 'unparseable'],
    ['unclosed angle bracket', ['Jane <jane@example.com'], 'unparseable'],
    ['unclosed quote', ['"Jane <jane@example.com>'], 'unparseable'],
    ['unclosed comment', ['jane@example.com (oops'], 'unparseable'],
    ['obs-route in the angle-addr', ['<@relay.example:a@example.com>'], 'unparseable'],
    ['nested group', ['G: H: a@example.com;;'], 'unparseable'],
    ['stray semicolon', ['a@example.com;'], 'unparseable'],
    ['label over 63 octets', [`a@${'x'.repeat(64)}.com`], 'unparseable'],
  ])('%s → %s', (_name, values, reason) => {
    expect(extractFromDomain(values)).toEqual({ ok: false, reason });
  });
});
