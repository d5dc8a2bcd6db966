/** RFC 6376 3.4: header and body canonicalization, whole and in chunks. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  BodyDigests,
  canonicalizeBody,
  canonicalizeHeaderRelaxed,
  canonicalizeHeaderSimple,
  createBodyHasher,
} from '../../../src/auth/dkim/canonicalize.js';
import { parseHeaderFields, splitMessage } from '../../../src/message/headers.js';
import type { Canonicalization } from '../../../src/auth/dkim/types.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const text = (buf: Buffer) => buf.toString('latin1');

describe('RFC 6376 3.4.6 example', () => {
  const head = 'A: X\r\nB : Y\t\r\n\tZ  \r\n';
  const body = ' C \r\nD \t E\r\n\r\n\r\n';
  const fields = parseHeaderFields(head);

  it('relaxed header: "a:X" and "b:Y Z"', () => {
    expect(fields.map((f) => canonicalizeHeaderRelaxed(f.raw)).join('')).toBe('a:X\r\nb:Y Z\r\n');
  });
  it('simple header: unchanged', () => {
    expect(fields.map((f) => canonicalizeHeaderSimple(f.raw)).join('')).toBe(head);
  });
  it('relaxed body: " C" and "D E"', () => {
    expect(text(canonicalizeBody(b(body), 'relaxed'))).toBe(' C\r\nD E\r\n');
  });
  it('simple body: trailing empty lines removed only', () => {
    expect(text(canonicalizeBody(b(body), 'simple'))).toBe(' C \r\nD \t E\r\n');
  });
});

describe('relaxed header canonicalization', () => {
  it.each([
    ['Subject: hello\r\n', 'subject:hello\r\n'],
    ['SUBJECT:hello\r\n', 'subject:hello\r\n'],
    ['Subject :  hello   world  \r\n', 'subject:hello world\r\n'],
    ['Subject:\thello\t\tworld\r\n', 'subject:hello world\r\n'],
    ['Subject: folded\r\n  across\r\n\tlines\r\n', 'subject:folded across lines\r\n'],
    ['Subject:\r\n', 'subject:\r\n'],
    ['Subject:   \r\n', 'subject:\r\n'],
    // 8-bit bytes are kept as they are (latin1 0xA0 is not whitespace here)
    ['Subject: caf\xc3\xa9 \xa0\r\n', 'subject:caf\xc3\xa9 \xa0\r\n'],
  ])('%j → %j', (raw, want) => {
    expect(canonicalizeHeaderRelaxed(raw)).toBe(want);
  });
});

describe('body canonicalization', () => {
  it.each<[string, Canonicalization, string, string]>([
    ['empty body', 'simple', '', '\r\n'],
    ['empty body', 'relaxed', '', ''],
    ['only empty lines', 'simple', '\r\n\r\n\r\n', '\r\n'],
    ['only empty lines', 'relaxed', '\r\n\r\n\r\n', ''],
    ['only whitespace lines', 'relaxed', '  \r\n\t\r\n', ''],
    ['only whitespace lines', 'simple', '  \r\n\t\r\n', '  \r\n\t\r\n'],
    ['no final CRLF', 'simple', 'abc', 'abc\r\n'],
    ['no final CRLF', 'relaxed', 'abc  ', 'abc\r\n'],
    ['trailing empty lines', 'simple', 'a\r\n\r\n\r\n', 'a\r\n'],
    ['trailing empty lines', 'relaxed', 'a\r\n \r\n\t\r\n', 'a\r\n'],
    ['inner empty lines kept', 'relaxed', 'a\r\n\r\n\r\nb\r\n', 'a\r\n\r\n\r\nb\r\n'],
    ['leading WSP reduced to one SP', 'relaxed', '\t \tx\r\n', ' x\r\n'],
    ['WSP runs', 'relaxed', 'a \t b\t\tc\r\n', 'a b c\r\n'],
    ['trailing WSP', 'relaxed', 'a \t\r\nb \r\n', 'a\r\nb\r\n'],
    ['bare CR is content', 'relaxed', 'a \rb\r\n', 'a \rb\r\n'],
    ['bare CR at the end', 'simple', 'a\r', 'a\r\r\n'],
    ['CR CR LF', 'simple', 'a\r\r\n', 'a\r\r\n'],
    ['bare LF is content', 'relaxed', 'a \nb\r\n', 'a \nb\r\n'],
  ])('%s (%s)', (_name, c, input, want) => {
    expect(text(canonicalizeBody(b(input), c))).toBe(want);
  });

  it('well-known empty-body hashes (simple: SHA-256 of CRLF; relaxed: of nothing)', () => {
    const digest = (c: Canonicalization) => {
      const h = createBodyHasher(c);
      h.update(b(''));
      return h.digest().hash.toString('base64');
    };
    expect(digest('simple')).toBe('frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=');
    expect(digest('relaxed')).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it.each<[Canonicalization, string, number, string]>([
    ['simple', 'hello\r\nworld\r\n', 5, 'hello'],
    ['relaxed', 'a   b\r\n', 4, 'a b\r'],
    ['relaxed', 'x\r\n\r\n', 100, 'x\r\n'],
    ['simple', 'x', 0, ''],
  ])('l= truncates the canonical body (%s, l=%i)', (c, input, l, want) => {
    expect(text(canonicalizeBody(b(input), c, l))).toBe(want);
  });

  it('reports the whole canonical length whatever l= is', () => {
    const h = createBodyHasher('relaxed', 3);
    h.update(b('a   b\r\n\r\n'));
    expect(h.digest().canonicalLength).toBe(5);
  });
});

/** A slow, obviously correct model of RFC 6376 3.4.3 / 3.4.4 to compare the fast code with. */
function model(body: string, c: Canonicalization): string {
  let lines = body.split('\r\n');
  const unterminated = lines.pop()!; // '' when the body ends in CRLF
  if (unterminated !== '') lines.push(unterminated);
  if (c === 'relaxed') lines = lines.map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return c === 'simple' ? '\r\n' : '';
  return lines.map((l) => `${l}\r\n`).join('');
}

describe('incremental hashing', () => {
  // A deterministic pseudo-random generator, so a failure reproduces.
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ['a', 'b', ' ', ' ', '\t', '\r\n', '\r\n', '\r', '\n', 'é'];
  const bodies = Array.from({ length: 300 }, () => Array.from({ length: rand(40) }, () => alphabet[rand(alphabet.length)]).join(''));

  for (const c of ['simple', 'relaxed'] as const) {
    it(`${c}: any split into chunks gives the model's bytes (300 random bodies)`, () => {
      for (const body of bodies) {
        const whole = b(body);
        const want = model(body, c);
        const parts: Buffer[] = [];
        const cuts = [0, ...Array.from({ length: rand(5) }, () => rand(whole.length + 1)).sort((x, y) => x - y), whole.length];
        const h = createBodyHasher(c);
        for (let i = 1; i < cuts.length; i++) {
          parts.push(whole.subarray(cuts[i - 1], cuts[i]));
          h.update(whole.subarray(cuts[i - 1], cuts[i]));
        }
        expect(text(canonicalizeBody(whole, c)), JSON.stringify(body)).toBe(want);
        expect(h.digest().hash.toString('hex'), JSON.stringify({ body, cuts })).toBe(createHash('sha256').update(b(want)).digest('hex'));
      }
    });
  }

  it('BodyDigests: the one-call simple digest and the relaxed shortcut agree with the model', () => {
    for (const body of bodies) {
      const digests = new BodyDigests(b(body));
      for (const c of ['simple', 'relaxed'] as const) {
        const want = createHash('sha256').update(b(model(body, c))).digest();
        expect(digests.matches(want, c), `${c} ${JSON.stringify(body)}`).toBe(true);
        expect(digests.get(c).canonicalLength, `${c} ${JSON.stringify(body)}`).toBe(b(model(body, c)).length);
      }
      const other = createHash('sha256').update(b(`${model(body, 'relaxed')}x`)).digest();
      expect(digests.matches(other, 'relaxed')).toBe(false);
    }
  });

  it('a large relaxed body in one chunk equals the same body fed in small chunks', () => {
    const big = b(Array.from({ length: 20000 }, (_, i) => (i % 7 === 0 ? 'word \t  tail  \r\n' : 'plain line of text\r\n')).join(''));
    const whole = createBodyHasher('relaxed');
    whole.update(big);
    const pieces = createBodyHasher('relaxed');
    for (let i = 0; i < big.length; i += 1000) pieces.update(big.subarray(i, i + 1000));
    expect(whole.digest().hash.equals(pieces.digest().hash)).toBe(true);
  });

  it('BodyDigests hashes each (canonicalization, l=) once', () => {
    const d = new BodyDigests(b('x\r\n'));
    expect(d.get('relaxed')).toBe(d.get('relaxed'));
    expect(d.get('relaxed', 1)).not.toBe(d.get('relaxed'));
  });
});

describe('splitMessage', () => {
  it('keeps exact field bytes and finds the body', () => {
    const m = splitMessage(b('From: a\r\nSubject: x\r\n  y\r\nX-Odd :z\r\n\r\nbody\r\n'));
    expect(m.fields.map((f) => [f.name, f.key, f.raw])).toEqual([
      ['From', 'from', 'From: a\r\n'],
      ['Subject', 'subject', 'Subject: x\r\n  y\r\n'],
      ['X-Odd', 'x-odd', 'X-Odd :z\r\n'],
    ]);
    expect(text(m.body)).toBe('body\r\n');
    expect(m.convertedLineEndings).toBe(false);
  });

  it('reads an LF-only message as CRLF', () => {
    const m = splitMessage(b('From: a\nSubject: x\n y\n\nbody\n'));
    expect(m.fields.map((f) => f.raw)).toEqual(['From: a\r\n', 'Subject: x\r\n y\r\n']);
    expect(text(m.body)).toBe('body\r\n');
    expect(m.convertedLineEndings).toBe(true);
  });

  it('handles a message with no body and one with no header', () => {
    expect(text(splitMessage(b('From: a\r\n')).body)).toBe('');
    const m = splitMessage(b('\r\nonly body'));
    expect(m.fields).toEqual([]);
    expect(text(m.body)).toBe('only body');
  });
});
