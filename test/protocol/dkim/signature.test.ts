/** RFC 6376 3.5: DKIM-Signature parse errors, each with its own code and reason. */
import { describe, expect, it } from 'vitest';
import { checkSignatureTimes, parseDkimSignature, withoutSignatureValue } from '../../../src/auth/dkim/signature.js';
import { parseTagList } from '../../../src/auth/dkim/tag-list.js';

const GOOD = {
  v: '1',
  a: 'rsa-sha256',
  c: 'relaxed/relaxed',
  d: 'example.com',
  s: 'sel',
  h: 'from:to:subject',
  bh: '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  b: 'dGVzdA==',
} as Record<string, string | undefined>;

function sig(changes: Record<string, string | undefined> = {}): string {
  const tags = { ...GOOD, ...changes };
  return Object.entries(tags)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}

describe('parseDkimSignature', () => {
  it('parses a good signature with defaults', () => {
    const p = parseDkimSignature(` ${sig({ c: undefined })}`);
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    expect(p.signature).toMatchObject({
      algorithm: 'rsa-sha256',
      keyType: 'rsa',
      headerCanonicalization: 'simple',
      bodyCanonicalization: 'simple',
      domain: 'example.com',
      selector: 'sel',
      identity: '@example.com',
      headerKeys: ['from', 'to', 'subject'],
    });
    expect(p.facts.canonicalization).toBe('simple/simple');
  });

  it('reads FWS inside values, "relaxed" alone, and an upper-case d=', () => {
    const p = parseDkimSignature(sig({ c: 'relaxed', d: 'Example.COM', h: 'From :\r\n To', b: 'dGVz\r\n dA==' }));
    expect(p.ok && p.signature).toMatchObject({ headerCanonicalization: 'relaxed', bodyCanonicalization: 'simple', domain: 'example.com', headerKeys: ['from', 'to'] });
    expect(p.ok && p.signature.signature.toString()).toBe('test');
  });

  it.each<[string, Record<string, string | undefined>, string, string, RegExp]>([
    ['missing d=', { d: undefined }, 'permerror', 'missing-tag', /lacks the required d= tag/],
    ['missing b= and bh=', { b: undefined, bh: undefined }, 'permerror', 'missing-tag', /b=, bh= tags/],
    ['v=2', { v: '2' }, 'permerror', 'bad-version', /v=2/],
    ['rsa-sha1 (RFC 8301)', { a: 'rsa-sha1' }, 'fail', 'sha1-not-acceptable', /RFC 8301/],
    ['unknown a=', { a: 'rsa-md5' }, 'permerror', 'unsupported-algorithm', /rsa-md5/],
    ['empty b=', { b: '' }, 'permerror', 'signature-syntax', /b= is empty/],
    ['b= not base64', { b: 'ab*cd' }, 'permerror', 'signature-syntax', /b= is not base64/],
    ['bad c=', { c: 'relaxed/fancy' }, 'permerror', 'bad-canonicalization', /relaxed\/fancy/],
    ['bad d=', { d: 'exa mple.com' }, 'permerror', 'signature-syntax', /d=exa mple\.com is not a domain/],
    ['h= without From', { h: 'to:subject' }, 'permerror', 'from-not-signed', /does not include From/],
    ['h= with an empty name', { h: 'from::to' }, 'permerror', 'signature-syntax', /empty header field name/],
    ['i= outside d=', { i: 'joe@example.org' }, 'permerror', 'identity-mismatch', /not in d=example\.com/],
    ['i= on a look-alike', { i: '@badexample.com' }, 'permerror', 'identity-mismatch', /not in d=/],
    ['i= without @', { i: 'example.com' }, 'permerror', 'signature-syntax', /has no "@"/],
    ['l= not a number', { l: 'ten' }, 'permerror', 'signature-syntax', /l=ten/],
    ['q= other than dns/txt', { q: 'http/well-known' }, 'permerror', 'bad-query-method', /dns\/txt/],
    ['t= not a number', { t: 'yesterday' }, 'permerror', 'signature-syntax', /t=yesterday/],
    ['x < t', { t: '2000', x: '1000' }, 'permerror', 'expiry-before-timestamp', /x=1000 is not later than t=2000/],
    ['x = t', { t: '2000', x: '2000' }, 'permerror', 'expiry-before-timestamp', /not later/],
  ])('%s', (_name, changes, result, code, reason) => {
    const p = parseDkimSignature(sig(changes));
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect({ result: p.result, code: p.code }).toEqual({ result, code });
    expect(p.reason).toMatch(reason);
  });

  it('keeps the facts of a broken signature for the report', () => {
    const p = parseDkimSignature(sig({ a: 'rsa-sha1', l: '10', t: '5', x: '9' }));
    expect(p.facts).toMatchObject({ domain: 'example.com', selector: 'sel', algorithm: 'rsa-sha1', bodyLengthLimited: true, signedAt: 5, expiresAt: 9 });
  });

  it('accepts i= in a subdomain, and i= with a local part', () => {
    expect(parseDkimSignature(sig({ i: 'joe@mail.example.com' })).ok).toBe(true);
    expect(parseDkimSignature(sig({ i: '@EXAMPLE.com' })).ok).toBe(true);
  });

  it('rejects a duplicate tag and a broken tag list (RFC 6376 3.2)', () => {
    const dup = parseDkimSignature(`${sig()}; d=example.org`);
    expect(!dup.ok && [dup.code, dup.reason]).toEqual(['signature-syntax', expect.stringMatching(/d= tag appears twice/)]);
    const broken = parseDkimSignature(`${sig()}; garbage`);
    expect(!broken.ok && broken.code).toBe('signature-syntax');
  });
});

describe('parseTagList', () => {
  it('tolerates a trailing ";" and empty segments, and keeps inner FWS', () => {
    const p = parseTagList(' a = 1 ;; b=two\r\n words ; ');
    expect(p.ok && [...p.tags]).toEqual([
      ['a', '1'],
      ['b', 'two\r\n words'],
    ]);
  });
  it('refuses a bad tag name', () => {
    expect(parseTagList('1a=x').ok).toBe(false);
  });
});

describe('checkSignatureTimes (RFC 6376 3.5, 6.1.1)', () => {
  const parsed = (t?: string, x?: string) => {
    const p = parseDkimSignature(sig({ t, x }));
    if (!p.ok) throw new Error(p.reason);
    return p.signature;
  };
  it.each<[string, string | undefined, string | undefined, number, string | true]>([
    ['no t=, no x=', undefined, undefined, 5000, true],
    ['before x=', '1000', '2000', 1999, true],
    ['at x=', '1000', '2000', 2000, true],
    ['after x=: expired', '1000', '2000', 2001, 'expired'],
    ['t= within the skew', '1200', undefined, 1000, true],
    ['t= beyond the skew', '1301', undefined, 1000, 'timestamp-in-future'],
  ])('%s', (_name, t, x, now, want) => {
    const r = checkSignatureTimes(parsed(t, x), now, 300);
    expect(r.ok ? true : r.code).toBe(want);
  });
});

describe('withoutSignatureValue (RFC 6376 3.7)', () => {
  it.each([
    ['DKIM-Signature: v=1; b=abc; bh=xyz\r\n', 'DKIM-Signature: v=1; b=; bh=xyz'],
    ['DKIM-Signature: v=1; bh=xyz; b=ab\r\n cd\r\n', 'DKIM-Signature: v=1; bh=xyz; b='],
    ['DKIM-Signature: v=1; bh=xyz;\r\n b = ab\r\n cd ;\r\n', 'DKIM-Signature: v=1; bh=xyz;\r\n b =;'],
    ['DKIM-Signature: bh=b=; b=x\r\n', 'DKIM-Signature: bh=b=; b='],
  ])('%j', (raw, want) => {
    expect(withoutSignatureValue(raw)).toBe(want);
  });
});
