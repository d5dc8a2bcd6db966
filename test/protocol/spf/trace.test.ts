/**
 * The lookup trace: every DNS question in order with its answer in short, the term that asked
 * it, the depth of includes, and the notes (match, no match, void, limits, ignored exp=).
 */
import { describe, expect, it } from 'vitest';
import { checkHost } from '../../../src/auth/spf/evaluate.js';
import type { SpfTraceStep } from '../../../src/auth/spf/types.js';
import { zoneResolver, type ZoneData } from '../../support/dns-server.js';

const zone: ZoneData = {
  'example.com': {
    TXT: ['v=spf1 a:mail.example.com mx include:_spf.example.net exists:nx.example.com -all exp=why.example.com', 'google-site-verification=abc'],
    MX: [{ exchange: 'mx2.example.com', preference: 20 }, { exchange: 'mx1.example.com', preference: 10 }],
  },
  'mail.example.com': { A: ['198.51.100.1'] },
  'mx1.example.com': { A: ['198.51.100.2'] },
  'mx2.example.com': { A: ['198.51.100.3'] },
  '_spf.example.net': { TXT: ['v=spf1 ip4:203.0.113.0/24 ~all'] },
  'why.example.com': { TXT: ['Not from %{d}'] },
  'many.example.com': { TXT: ['v=spf1 a:m.example.com -all'] },
  'm.example.com': { A: ['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6'] },
};

const run = (ip: string, domain = 'example.com') => checkHost({ ip, domain, sender: `u@${domain}`, helo: 'h.example.org' }, zoneResolver(zone));
const row = (s: SpfTraceStep) => [s.depth, s.term, s.query ? `${s.query.type} ${s.query.name}` : '', s.answer ?? '', s.note ?? ''];

describe('trace', () => {
  it('records each question, its answer and what the term concluded', async () => {
    const result = await run('192.0.2.99');
    expect(result.result).toBe('fail');
    expect(result.trace.map(row)).toEqual([
      [0, 'record', 'TXT example.com', '2 records: "v=spf1 a:mail.example.com mx include:_spf.example.net exists:nx.example.com -all exp=why.example.com", "google-site-verification=abc"', ''],
      [0, 'a:mail.example.com', 'A mail.example.com', '1 record: 198.51.100.1', 'no match'],
      [0, 'mx', 'MX example.com', '2 records: 20 mx2.example.com, 10 mx1.example.com', ''],
      // MX hosts in preference order
      [0, 'mx', 'A mx1.example.com', '1 record: 198.51.100.2', ''],
      [0, 'mx', 'A mx2.example.com', '1 record: 198.51.100.3', 'no match'],
      [1, 'record', 'TXT _spf.example.net', '1 record: "v=spf1 ip4:203.0.113.0/24 ~all"', ''],
      [1, '~all', '', '', 'match: softfail'],
      [0, 'include:_spf.example.net', '', '', '_spf.example.net returned softfail: no match'],
      [0, 'exists:nx.example.com', 'A nx.example.com', 'NXDOMAIN', 'void lookup 1/2'],
      [0, '-all', '', '', 'match: fail'],
      [0, 'exp=why.example.com', 'TXT why.example.com', '1 record: "Not from %{d}"', ''],
    ]);
    expect(result.result === 'fail' && result.explanation).toBe('Not from example.com');
  });

  it('names the matching address in the reason and shortens long answers', async () => {
    const result = await run('192.0.2.6', 'many.example.com');
    expect(result.reason).toBe('192.0.2.6 is permitted by many.example.com: a:m.example.com matched (m.example.com has 192.0.2.6)');
    expect(result.trace[1]?.answer).toBe('6 records: 192.0.2.1, 192.0.2.2, 192.0.2.3, 192.0.2.4, … (2 more)');
    expect(result.trace[1]?.note).toBe('match');
  });

  it('marks names that cannot exist instead of asking for them', async () => {
    const resolver = zoneResolver({ 'example.com': { TXT: ['v=spf1 a:mail.example...com -all'] } });
    const result = await checkHost({ ip: '192.0.2.1', domain: 'example.com', sender: 'u@example.com', helo: 'h' }, resolver);
    expect(result.result).toBe('fail');
    expect(resolver.calls).toHaveLength(1);
    expect(result.trace[1]?.note).toContain('"mail.example...com" is not a valid DNS name');
    expect(result.voidLookups).toBe(1);
  });

  it('shows a temporary failure as the answer', async () => {
    const resolver = zoneResolver({ 'example.com': { TXT: ['v=spf1 a:slow.example.com -all'] }, 'slow.example.com': { TIMEOUT: true } });
    const result = await checkHost({ ip: '192.0.2.1', domain: 'example.com', sender: 'u@example.com', helo: 'h' }, resolver);
    expect(result.trace[1]).toMatchObject({ term: 'a:slow.example.com', query: { name: 'slow.example.com', type: 'A' }, note: 'temperror' });
    expect(result.trace[1]?.answer).toMatch(/^tempfail \(timeout/);
  });
});
