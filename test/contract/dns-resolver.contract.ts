// The DnsResolver contract: every implementation (the in-memory fake, the stub resolver over
// real UDP/TCP, the cache in front of it) must give the same answers for the same zone, so
// protocol tests against the fake stay true for the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsAnswer, DnsResolver } from '../../src/dns/types.js';
import type { ZoneData } from '../../src/dns/zone.js';

export interface ResolverUnderTest {
  resolver: DnsResolver;
  close(): Promise<void>;
}

/** Builds a resolver that answers from `zone` (the factory may start servers). */
export type ResolverFactory = (zone: ZoneData) => Promise<ResolverUnderTest>;

const LONG_KEY = `v=DKIM1; k=rsa; p=${'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A'.repeat(13)}`; // > 255 octets

export const CONTRACT_ZONE: ZoneData = {
  'example.com': {
    A: ['192.0.2.1', '192.0.2.2'],
    AAAA: ['2001:db8::1'],
    MX: [
      { exchange: 'Mail.Example.COM.', preference: 10 },
      { exchange: 'backup.example.net', preference: 20 },
    ],
    NS: ['NS1.example.com.'],
    TXT: ['v=spf1 -all'],
    ttl: 3600,
  },
  'multi.example.com': { TXT: [['v=spf1 ', 'ip4:192.0.2.0/24 ', '-all']] },
  'empty.example.com': { TXT: [''] },
  'several.example.com': { TXT: ['one', ['tw', 'o'], ''] },
  'long.example.com': { TXT: [LONG_KEY] },
  'utf8.example.com': { TXT: ['café ✓'] },
  '1.2.0.192.in-addr.arpa': { PTR: ['Mail.Example.com.'] },
  '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa': { PTR: ['v6.example.com'] },
  'nodata.example.com': { A: ['192.0.2.9'], ttl: 120 },
  'deep.ent.example.com': { A: ['192.0.2.10'] },
  'servfail.example.com': { SERVFAIL: true },
  'timeout.example.com': { TIMEOUT: true },
  'a:b%c d.example.com': { TXT: ['odd name'] },
  'user:tag.example.com': { A: ['127.0.0.2'] },
  'www.example.com': { CNAME: 'example.com' },
  'alias2.example.com': { CNAME: 'WWW.example.com.', ttl: 60 },
  'dangling.example.com': { CNAME: 'gone.example.com' },
  'cname-nodata.example.com': { CNAME: 'nodata.example.com' },
  '*.wild.example.com': { TXT: ['wild'] },
};

function expectRecords<T>(answer: DnsAnswer<T>): T[] {
  if (answer.kind !== 'records') throw new Error(`expected records, got ${JSON.stringify(answer)}`);
  expect(answer.authenticated).toBe(false);
  expect(answer.ttl).toBeGreaterThan(0);
  return answer.records;
}

const sorted = (values: string[]): string[] => [...values].sort();

export function runResolverContract(name: string, make: ResolverFactory): void {
  describe(`DnsResolver contract: ${name}`, () => {
    let subject: ResolverUnderTest | undefined;
    const resolver = (): DnsResolver => {
      if (subject === undefined) throw new Error('resolver not started');
      return subject.resolver;
    };
    beforeAll(async () => {
      subject = await make(CONTRACT_ZONE);
    });
    afterAll(async () => {
      await subject?.close();
    });

    it('answers A, AAAA and NS records with their TTL', async () => {
      const a = await resolver().query('example.com', 'A');
      expect(sorted(expectRecords(a))).toEqual(['192.0.2.1', '192.0.2.2']);
      expect(a.kind === 'records' && a.ttl).toBeLessThanOrEqual(3600);
      expect(expectRecords(await resolver().query('example.com', 'AAAA'))).toEqual(['2001:db8::1']);
      expect(expectRecords(await resolver().query('example.com', 'NS'))).toEqual(['ns1.example.com']);
    });

    it('answers MX with exchanges lowercased and without the trailing dot', async () => {
      const mx = expectRecords(await resolver().query('example.com', 'MX'));
      expect([...mx].sort((x, y) => x.preference - y.preference)).toEqual([
        { exchange: 'mail.example.com', preference: 10 },
        { exchange: 'backup.example.net', preference: 20 },
      ]);
    });

    it('concatenates the character-strings of one TXT record', async () => {
      expect(expectRecords(await resolver().query('multi.example.com', 'TXT'))).toEqual(['v=spf1 ip4:192.0.2.0/24 -all']);
      expect(expectRecords(await resolver().query('long.example.com', 'TXT'))).toEqual([LONG_KEY]);
      expect(expectRecords(await resolver().query('utf8.example.com', 'TXT'))).toEqual(['café ✓']);
    });

    it('keeps an empty TXT string and every TXT record', async () => {
      expect(expectRecords(await resolver().query('empty.example.com', 'TXT'))).toEqual(['']);
      expect(sorted(expectRecords(await resolver().query('several.example.com', 'TXT')))).toEqual(['', 'one', 'two']);
    });

    it('reverse() finds PTR records for IPv4 and IPv6', async () => {
      expect(expectRecords(await resolver().reverse('192.0.2.1'))).toEqual(['mail.example.com']);
      expect(expectRecords(await resolver().reverse('2001:db8::1'))).toEqual(['v6.example.com']);
      expect(expectRecords(await resolver().reverse('2001:0DB8:0:0:0:0:0:1'))).toEqual(['v6.example.com']);
      expect((await resolver().reverse('192.0.2.77')).kind).toBe('nxdomain');
    });

    it('tells nxdomain from nodata, with a negative TTL', async () => {
      const missing = await resolver().query('missing.example.com', 'A');
      expect(missing.kind).toBe('nxdomain');
      expect(missing.kind === 'nxdomain' && missing.ttl).toBeGreaterThan(0);
      const nodata = await resolver().query('nodata.example.com', 'TXT');
      expect(nodata.kind).toBe('nodata');
      expect(nodata.kind === 'nodata' && nodata.ttl).toBeGreaterThan(0);
      expect(nodata.kind === 'nodata' && nodata.ttl).toBeLessThanOrEqual(120);
      // An empty non-terminal exists: nodata, not nxdomain (RFC 8020).
      expect((await resolver().query('ent.example.com', 'A')).kind).toBe('nodata');
    });

    it('answers tempfail for SERVFAIL and for a server that never answers', async () => {
      const servfail = await resolver().query('servfail.example.com', 'TXT');
      expect(servfail.kind).toBe('tempfail');
      expect(servfail.kind === 'tempfail' && servfail.reason).toMatch(/SERVFAIL/);
      const timeout = await resolver().query('timeout.example.com', 'TXT');
      expect(timeout.kind).toBe('tempfail');
      expect(timeout.kind === 'tempfail' && timeout.reason).toMatch(/timeout/);
    });

    it('asks for names with ":" "%" and spaces as they are', async () => {
      expect(expectRecords(await resolver().query('a:b%c d.example.com', 'TXT'))).toEqual(['odd name']);
      expect(expectRecords(await resolver().query('user:tag.example.com', 'A'))).toEqual(['127.0.0.2']);
      expect((await resolver().query('1.2.3.4.x%y z.example.com', 'A')).kind).toBe('nxdomain');
    });

    it('answers nxdomain with TTL 0 for names that cannot be encoded', async () => {
      for (const bad of [`${'x'.repeat(64)}.example.com`, 'a..b.example.com', `${'abcdefghi.'.repeat(26)}com`]) {
        expect(await resolver().query(bad, 'TXT')).toEqual({ kind: 'nxdomain', ttl: 0 });
      }
    });

    it('compares names case-insensitively and ignores a trailing dot', async () => {
      expect(sorted(expectRecords(await resolver().query('EXAMPLE.Com', 'A')))).toEqual(['192.0.2.1', '192.0.2.2']);
      expect(expectRecords(await resolver().query('example.com.', 'AAAA'))).toEqual(['2001:db8::1']);
    });

    it('follows CNAME chains, with the smallest TTL of the chain', async () => {
      expect(sorted(expectRecords(await resolver().query('www.example.com', 'A')))).toEqual(['192.0.2.1', '192.0.2.2']);
      const chained = await resolver().query('alias2.example.com', 'MX');
      expect(expectRecords(chained)).toHaveLength(2);
      expect(chained.kind === 'records' && chained.ttl).toBeLessThanOrEqual(60);
      expect(expectRecords(await resolver().query('www.example.com', 'CNAME'))).toEqual(['example.com']);
      expect((await resolver().query('dangling.example.com', 'A')).kind).toBe('nxdomain');
      expect((await resolver().query('cname-nodata.example.com', 'TXT')).kind).toBe('nodata');
    });

    it('answers from a wildcard for names below it', async () => {
      expect(expectRecords(await resolver().query('anything.wild.example.com', 'TXT'))).toEqual(['wild']);
      expect((await resolver().query('anything.wild.example.com', 'A')).kind).toBe('nodata');
    });

    it('answers many concurrent queries', async () => {
      const names = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'example.com' : `n${i}.missing.example.com`));
      const answers = await Promise.all(names.map((n) => resolver().query(n, 'A')));
      expect(answers.map((a) => a.kind)).toEqual(names.map((n) => (n === 'example.com' ? 'records' : 'nxdomain')));
    });
  });
}
