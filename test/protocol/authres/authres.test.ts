/**
 * Authentication-Results (RFC 8601): one table, checked both ways — formatAuthResults(model) is
 * the wire text, parseAuthResults(wire) is the model (STYLE §6) — then real-world headers, which
 * only need to parse.
 */
import { describe, expect, it } from 'vitest';
import { formatAuthResults, MAX_LINE_LENGTH } from '../../../src/auth/authres/format.js';
import { parseAuthResults } from '../../../src/auth/authres/parse.js';
import type { AuthProperty, AuthResults } from '../../../src/auth/authres/types.js';

const prop = (ptype: string, property: string, value: string): AuthProperty => ({ ptype, property, value });

const roundTrip: Array<[name: string, model: AuthResults, wire: string]> = [
  [
    'SPF, DKIM, DMARC, folded between results',
    {
      authservId: 'mx.example',
      results: [
        { method: 'spf', result: 'pass', properties: [prop('smtp', 'mailfrom', 'a.example')] },
        {
          method: 'dkim',
          result: 'pass',
          properties: [prop('header', 'd', 'a.example'), prop('header', 's', 'sel'), prop('header', 'a', 'rsa-sha256')],
        },
        { method: 'dmarc', result: 'pass', properties: [prop('header', 'from', 'a.example')] },
      ],
    },
    'Authentication-Results: mx.example; spf=pass smtp.mailfrom=a.example;\r\n' +
      ' dkim=pass header.d=a.example header.s=sel header.a=rsa-sha256;\r\n' +
      ' dmarc=pass header.from=a.example\r\n',
  ],
  ['no result: none (RFC 8601 2.2)', { authservId: 'mx.example', results: [] }, 'Authentication-Results: mx.example; none\r\n'],
  [
    'authres-version',
    { authservId: 'mx.example', version: 1, results: [{ method: 'spf', result: 'none', properties: [prop('smtp', 'mailfrom', 'a.example')] }] },
    'Authentication-Results: mx.example 1; spf=none smtp.mailfrom=a.example\r\n',
  ],
  [
    'method version',
    { authservId: 'mx.example', results: [{ method: 'dkim', methodVersion: 1, result: 'pass', properties: [prop('header', 'd', 'a.example')] }] },
    'Authentication-Results: mx.example; dkim/1=pass header.d=a.example\r\n',
  ],
  [
    'reason is quoted',
    {
      authservId: 'mx.example',
      results: [{ method: 'dkim', result: 'fail', reason: 'signature verification failed', properties: [prop('header', 'd', 'a.example')] }],
    },
    'Authentication-Results: mx.example;\r\n dkim=fail reason="signature verification failed" header.d=a.example\r\n',
  ],
  [
    'result comment (DMARC policy as Gmail writes it)',
    {
      authservId: 'mx.example',
      results: [{ method: 'dmarc', result: 'fail', comment: 'p=reject dis=quarantine', properties: [prop('header', 'from', 'a.example')] }],
    },
    'Authentication-Results: mx.example;\r\n dmarc=fail (p=reject dis=quarantine) header.from=a.example\r\n',
  ],
  [
    'addresses and @domain stay bare (pvalue)',
    {
      authservId: 'mx.example',
      results: [
        { method: 'spf', result: 'pass', properties: [prop('smtp', 'mailfrom', 'bounce+x@a.example')] },
        { method: 'dkim', result: 'pass', properties: [prop('header', 'i', '@a.example')] },
      ],
    },
    'Authentication-Results: mx.example; spf=pass smtp.mailfrom=bounce+x@a.example;\r\n dkim=pass header.i=@a.example\r\n',
  ],
  [
    'values with tspecials, spaces, quotes and backslashes are quoted',
    {
      authservId: 'mx.example',
      results: [
        {
          method: 'dkim',
          result: 'pass',
          properties: [prop('header', 'b', 'Ab1+cD/e'), prop('header', 'x', 'a "b" \\c'), prop('policy', 'y', 'k=v')],
        },
      ],
    },
    'Authentication-Results: mx.example;\r\n dkim=pass header.b="Ab1+cD/e" header.x="a \\"b\\" \\\\c" policy.y="k=v"\r\n',
  ],
  [
    'comment with parentheses and a backslash',
    { authservId: 'mx.example', results: [{ method: 'iprev', result: 'pass', comment: 'a (b) \\ c', properties: [prop('policy', 'iprev', '192.0.2.1')] }] },
    'Authentication-Results: mx.example;\r\n iprev=pass (a \\(b\\) \\\\ c) policy.iprev=192.0.2.1\r\n',
  ],
  [
    'a long comment folds between its words',
    {
      authservId: 'mx.google.com',
      results: [
        {
          method: 'spf',
          result: 'pass',
          comment: 'google.com: domain of bounce@mail.example.com designates 209.85.220.41 as permitted sender',
          properties: [prop('smtp', 'mailfrom', 'bounce@mail.example.com')],
        },
      ],
    },
    'Authentication-Results: mx.google.com;\r\n' +
      ' spf=pass (google.com: domain of bounce@mail.example.com designates\r\n' +
      ' 209.85.220.41 as permitted sender) smtp.mailfrom=bounce@mail.example.com\r\n',
  ],
  [
    'quoted authserv-id',
    { authservId: 'mx example', results: [] },
    'Authentication-Results: "mx example"; none\r\n',
  ],
  [
    'unregistered method and bare keyword (Microsoft), no authserv-id',
    {
      authservId: '',
      results: [
        { method: 'dmarc', result: 'pass', properties: [prop('', 'action', 'none'), prop('header', 'from', 'contoso.com')] },
        { method: 'compauth', result: 'pass', reason: '100', properties: [] },
      ],
    },
    'Authentication-Results: dmarc=pass action=none header.from=contoso.com;\r\n compauth=pass reason=100\r\n',
  ],
  [
    'ARC and DMARC results together',
    {
      authservId: 'mx.example',
      results: [
        { method: 'arc', result: 'pass', properties: [prop('smtp', 'remote-ip', '192.0.2.1')] },
        { method: 'dmarc', result: 'fail', properties: [prop('header', 'from', 'b.example'), prop('policy', 'dmarc', 'reject')] },
      ],
    },
    'Authentication-Results: mx.example; arc=pass smtp.remote-ip=192.0.2.1;\r\n dmarc=fail header.from=b.example policy.dmarc=reject\r\n',
  ],
];

describe('Authentication-Results round trip', () => {
  it.each(roundTrip)('format: %s', (_name, model, wire) => {
    expect(formatAuthResults(model)).toBe(wire);
  });

  it.each(roundTrip)('parse: %s', (_name, model, wire) => {
    expect(parseAuthResults(wire)).toEqual({ ok: true, authResults: model });
  });

  it.each(roundTrip)('lines within 78 characters, folded only before a space: %s', (_name, _model, wire) => {
    const lines = wire.slice(0, -2).split('\r\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(MAX_LINE_LENGTH);
    for (const line of lines.slice(1)) expect(line).toMatch(/^ \S/);
  });
});

describe('parseAuthResults: real-world headers', () => {
  it('Gmail', () => {
    const header =
      'Authentication-Results: mx.google.com;\r\n' +
      '       dkim=pass header.i=@example.com header.s=20230601 header.b=Ab1+cD/e;\r\n' +
      '       arc=pass (i=1 spf=pass spfdomain=example.com dkim=pass dkdomain=example.com dmarc=pass fromdomain=example.com);\r\n' +
      '       spf=pass (google.com: domain of bounce@example.com designates 209.85.220.41 as permitted sender) smtp.mailfrom=bounce@example.com;\r\n' +
      '       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.com\r\n';
    const parsed = parseAuthResults(header);
    expect(parsed).toMatchObject({ ok: true, authResults: { authservId: 'mx.google.com' } });
    if (!parsed.ok) return;
    expect(parsed.authResults.results.map((r) => [r.method, r.result])).toEqual([
      ['dkim', 'pass'],
      ['arc', 'pass'],
      ['spf', 'pass'],
      ['dmarc', 'pass'],
    ]);
    expect(parsed.authResults.results[0]!.properties).toEqual([
      prop('header', 'i', '@example.com'),
      prop('header', 's', '20230601'),
      prop('header', 'b', 'Ab1+cD/e'),
    ]);
    expect(parsed.authResults.results[2]!.comment).toBe(
      'google.com: domain of bounce@example.com designates 209.85.220.41 as permitted sender',
    );
    expect(parsed.authResults.results[3]).toMatchObject({ comment: 'p=REJECT sp=REJECT dis=NONE', properties: [prop('header', 'from', 'example.com')] });
  });

  it('Microsoft 365 (no authserv-id, bare action=, compauth)', () => {
    const header =
      'Authentication-Results: spf=pass (sender IP is 40.107.22.71)\r\n' +
      ' smtp.mailfrom=contoso.com; dkim=pass (signature was verified)\r\n' +
      ' header.d=contoso.com;dmarc=pass action=none\r\n' +
      ' header.from=contoso.com;compauth=pass reason=100\r\n';
    expect(parseAuthResults(header)).toEqual({
      ok: true,
      authResults: {
        authservId: '',
        results: [
          { method: 'spf', result: 'pass', comment: 'sender IP is 40.107.22.71', properties: [prop('smtp', 'mailfrom', 'contoso.com')] },
          { method: 'dkim', result: 'pass', comment: 'signature was verified', properties: [prop('header', 'd', 'contoso.com')] },
          { method: 'dmarc', result: 'pass', properties: [prop('', 'action', 'none'), prop('header', 'from', 'contoso.com')] },
          { method: 'compauth', result: 'pass', reason: '100', properties: [] },
        ],
      },
    });
  });

  it('Microsoft ARC-style authserv-id with a version', () => {
    const parsed = parseAuthResults('mx.microsoft.com 1; spf=pass smtp.mailfrom=contoso.com; dmarc=pass action=none header.from=contoso.com; dkim=pass header.d=contoso.com; arc=none');
    expect(parsed).toMatchObject({ ok: true, authResults: { authservId: 'mx.microsoft.com', version: 1 } });
    expect(parsed.ok && parsed.authResults.results.map((r) => r.method)).toEqual(['spf', 'dmarc', 'dkim', 'arc']);
  });

  it.each([
    ['RFC 8601 B.2: none', 'example.org 1; none', { authservId: 'example.org', version: 1, results: [] }],
    ['comments between every token (RFC 8601 2.2 CFWS)', 'example.com (foo) ; (bar) spf (baz) = (qux) pass (quux) smtp (a) . (b) mailfrom = sender@example.net', {
      authservId: 'example.com',
      results: [{ method: 'spf', result: 'pass', comment: 'quux', properties: [prop('smtp', 'mailfrom', 'sender@example.net')] }],
    }],
    ['names in any case, values as written', 'MX.Example; SPF=PASS smtp.MailFrom=Bounce@A.Example', {
      authservId: 'MX.Example',
      results: [{ method: 'spf', result: 'pass', properties: [prop('smtp', 'mailfrom', 'Bounce@A.Example')] }],
    }],
    ['trailing semicolon', 'mx.example; spf=pass smtp.mailfrom=a.example;', {
      authservId: 'mx.example',
      results: [{ method: 'spf', result: 'pass', properties: [prop('smtp', 'mailfrom', 'a.example')] }],
    }],
    ['an unreadable resinfo is skipped, the rest kept', 'mx.example; ===; dkim=pass header.d=a.example', {
      authservId: 'mx.example',
      results: [{ method: 'dkim', result: 'pass', properties: [prop('header', 'd', 'a.example')] }],
    }],
    ['a quoted value with a semicolon', 'mx.example; dkim=fail reason="bad; really" header.d=a.example', {
      authservId: 'mx.example',
      results: [{ method: 'dkim', result: 'fail', reason: 'bad; really', properties: [prop('header', 'd', 'a.example')] }],
    }],
  ] as const)('%s', (_name, header, model) => {
    expect(parseAuthResults(header)).toEqual({ ok: true, authResults: model });
  });

  it.each([
    ['empty', ''],
    ['only a comment', '(nothing)'],
  ])('refuses %s', (_name, header) => {
    expect(parseAuthResults(header)).toMatchObject({ ok: false });
  });
});
