// Socket behaviour of the stub resolver that the contract cannot show: TCP fallback, answers that
// do not match, retries across servers, garbage. Everything binds 127.0.0.1 on OS-chosen ports.
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDnsServer } from '../../../src/dns/servers.js';
import { createStubResolver, type StubResolver } from '../../../src/dns/stub.js';
import type { DnsServerAddress } from '../../../src/dns/types.js';
import { startZoneServer, type ZoneServer } from '../../support/dns-server.js';

type Query = dnsPacket.DecodedPacket;
interface Rogue {
  server: DnsServerAddress;
  received: Array<{ query: Query; port: number }>;
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A UDP "server" that replies with whatever `script` returns for each query (nothing = black hole). */
async function rogue(script: (query: Query, n: number) => Buffer[] = () => []): Promise<Rogue> {
  const socket = dgram.createSocket('udp4');
  const received: Rogue['received'] = [];
  socket.on('message', (message, peer) => {
    const query = dnsPacket.decode(message);
    received.push({ query, port: peer.port });
    for (const reply of script(query, received.length)) socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= new Promise((resolve) => socket.close(() => resolve())));
  const result = { server: { host: '127.0.0.1', port: socket.address().port }, received, close };
  cleanups.push(close);
  return result;
}

/** A response to `query` answering one A record, with any part overridden. */
function answer(query: Query, override: Partial<dnsPacket.Packet> & { rcode?: number } = {}): Buffer {
  const question = query.questions?.[0] ?? { name: 'x', type: 'A' as const };
  const { rcode = 0, ...rest } = override;
  return dnsPacket.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions: [question],
    answers: [{ name: question.name, type: 'A', ttl: 60, data: '192.0.2.1' }],
    ...rest,
  });
}

async function zoneServer(...args: Parameters<typeof startZoneServer>): Promise<ZoneServer> {
  const server = await startZoneServer(...args);
  cleanups.push(() => server.close());
  return server;
}

function stub(servers: DnsServerAddress[], timeoutMs = 150, attempts = 2): StubResolver {
  const resolver = createStubResolver({ servers, timeoutMs, attempts });
  cleanups.push(() => resolver.close());
  return resolver;
}

describe('createStubResolver: the query it sends', () => {
  it('sets RD, adds EDNS0 with a 1232-byte payload and DO off, and varies id and source port', async () => {
    const server = await rogue((q) => [answer(q)]);
    const resolver = stub([server.server]);
    for (let i = 0; i < 4; i++) expect((await resolver.query('Example.COM', 'A')).kind).toBe('records');
    for (const { query } of server.received) {
      expect(query.flag_rd).toBe(true);
      expect(query.questions).toEqual([{ name: 'example.com', type: 'A', class: 'IN' }]);
      const opt = query.additionals?.find((rr) => rr.type === 'OPT');
      expect(opt).toMatchObject({ udpPayloadSize: 1232, flag_do: false, ednsVersion: 0 });
    }
    expect(new Set(server.received.map((r) => r.query.id)).size).toBeGreaterThan(1);
    expect(new Set(server.received.map((r) => r.port)).size).toBeGreaterThan(1);
  });

  it('throws at construction only for a configuration bug', () => {
    expect(() => createStubResolver({ servers: [] })).toThrow(/no DNS servers/);
    expect(() => createStubResolver({ servers: [parseDnsServer('127.0.0.1')], attempts: 0 })).toThrow(/attempts/);
  });
});

describe('createStubResolver: answers that do not match are ignored', () => {
  it('keeps waiting past a wrong id and takes the right answer', async () => {
    const server = await rogue((q) => [answer({ ...q, id: ((q.id ?? 0) + 1) % 65536 }), answer(q)]);
    const resolver = stub([server.server]);
    expect(await resolver.query('example.com', 'A')).toMatchObject({ kind: 'records', records: ['192.0.2.1'], ttl: 60 });
    expect(resolver.stats().mismatches).toBe(1);
  });

  it('ignores a wrong question name, type or class, a query echo and garbage', async () => {
    const server = await rogue((q) => {
      const question = q.questions?.[0] ?? { name: '', type: 'A' as const };
      return [
        answer(q, { questions: [{ ...question, name: 'evil.example' }] }),
        answer(q, { questions: [{ ...question, type: 'TXT' }] }),
        answer(q, { questions: [{ ...question, class: 'CH' }] }),
        answer(q, { type: 'query' }),
        Buffer.from('not a DNS message at all'),
        Buffer.alloc(3),
        answer(q, { questions: [{ ...question, name: question.name.toUpperCase() }] }), // RFC 4343: case does not matter
      ];
    });
    const resolver = stub([server.server]);
    expect(await resolver.query('example.com', 'A')).toMatchObject({ kind: 'records' });
    expect(resolver.stats().mismatches).toBe(6);
  });

  it('answers tempfail when only mismatched answers arrive, and says so', async () => {
    const server = await rogue((q) => [answer({ ...q, id: ((q.id ?? 0) + 1) % 65536 }), Buffer.from([0xde, 0xad])]);
    const resolver = stub([server.server], 100, 2);
    const result = await resolver.query('example.com', 'A');
    expect(result.kind).toBe('tempfail');
    const reason = result.kind === 'tempfail' ? result.reason : '';
    expect(reason).toMatch(/^timeout after 2 attempts to 127\.0\.0\.1:\d+ \(4 mismatched/);
    expect(server.received).toHaveLength(2);
  });
});

describe('createStubResolver: rcodes and flags', () => {
  it('reports REFUSED and SERVFAIL by name and does not ask that server again', async () => {
    const refused = await rogue((q) => [answer(q, { rcode: 5, answers: [] })]);
    const resolver = stub([refused.server], 100, 3);
    expect(await resolver.query('example.com', 'A')).toEqual({
      kind: 'tempfail',
      reason: `REFUSED from 127.0.0.1:${refused.server.port}`,
    });
    expect(refused.received).toHaveLength(1);
  });

  it('moves to the next server after SERVFAIL', async () => {
    const failing = await rogue((q) => [answer(q, { rcode: 2, answers: [] })]);
    const good = await rogue((q) => [answer(q)]);
    expect((await stub([failing.server, good.server]).query('example.com', 'A')).kind).toBe('records');
  });

  it('reads AD into authenticated and the negative TTL from the SOA (RFC 2308 5)', async () => {
    const soa = (ttl: number, minimum: number): dnsPacket.Answer => ({
      name: 'example.com', type: 'SOA', ttl, data: { mname: 'ns.example.com', rname: 'h.example.com', minimum },
    });
    const server = await rogue((q) => {
      const name = q.questions?.[0]?.name ?? '';
      if (name.startsWith('signed')) return [answer(q, { flags: dnsPacket.AUTHENTIC_DATA })];
      if (name.startsWith('nx')) return [answer(q, { rcode: 3, answers: [], authorities: [soa(100, 50)] })];
      if (name.startsWith('nodata')) return [answer(q, { answers: [], authorities: [soa(30, 900)] })];
      if (name.startsWith('bare')) return [answer(q, { answers: [] })];
      const opt = { udpPayloadSize: 1232, extendedRcode: 1, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
      return [answer(q, { additionals: [{ type: 'OPT', name: '.', ...opt }] })];
    });
    const resolver = stub([server.server]);
    expect(await resolver.query('signed.example.com', 'A')).toMatchObject({ kind: 'records', authenticated: true });
    expect(await resolver.query('nx.example.com', 'A')).toEqual({ kind: 'nxdomain', ttl: 50 });
    expect(await resolver.query('nodata.example.com', 'A')).toEqual({ kind: 'nodata', ttl: 30 });
    expect(await resolver.query('bare.example.com', 'A')).toEqual({ kind: 'nodata', ttl: 60 });
    expect(await resolver.query('badvers.example.com', 'A')).toMatchObject({ reason: /extended rcode 1/ });
  });
});

describe('createStubResolver: retries and transports', () => {
  it('tries the next server when the first never answers', async () => {
    const blackHole = await rogue();
    const zone = await zoneServer({ 'example.com': { A: ['192.0.2.7'] } });
    const resolver = stub([blackHole.server, parseDnsServer(zone.address)], 150);
    const started = Date.now();
    expect(await resolver.query('example.com', 'A')).toMatchObject({ kind: 'records', records: ['192.0.2.7'] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(blackHole.received).toHaveLength(1);
    expect(zone.queries).toEqual([{ name: 'example.com', type: 'A', transport: 'udp' }]);
  });

  it('makes `attempts` rounds over the servers before giving up', async () => {
    const first = await rogue();
    const second = await rogue();
    const resolver = stub([first.server, second.server], 50, 3);
    const result = await resolver.query('example.com', 'TXT');
    const reason = result.kind === 'tempfail' ? result.reason : '';
    expect(reason).toMatch(/^timeout after 6 attempts to 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+$/);
    expect([first.received.length, second.received.length]).toEqual([3, 3]);
    expect(resolver.stats().timeouts).toBe(6);
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const zone = await zoneServer({ 'big.example.com': { TRUNCATE: true, TXT: ['v=spf1 -all'] } });
    const resolver = stub([parseDnsServer(zone.address)]);
    expect(await resolver.query('big.example.com', 'TXT')).toMatchObject({ kind: 'records', records: ['v=spf1 -all'] });
    expect(zone.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
    expect(resolver.stats().tcpFallbacks).toBe(1);
  });

  it('gets answers larger than the EDNS payload over TCP', async () => {
    const many = Array.from({ length: 40 }, (_, i) => `record ${i} ${'x'.repeat(60)}`);
    const zone = await zoneServer({ 'many.example.com': { TXT: many } });
    const result = await stub([parseDnsServer(zone.address)]).query('many.example.com', 'TXT');
    expect(result.kind === 'records' && [...result.records].sort()).toEqual([...many].sort());
    expect(zone.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('answers tempfail when the TCP retry cannot connect', async () => {
    const truncating = await rogue((q) => [answer(q, { flags: dnsPacket.TRUNCATED_RESPONSE, answers: [] })]);
    const result = await stub([truncating.server], 150, 1).query('example.com', 'A');
    expect(result).toMatchObject({ kind: 'tempfail', reason: /TCP/ });
  });

  it('answers tempfail for a closed UDP port', async () => {
    const closed = await rogue();
    await closed.close();
    const result = await stub([closed.server], 100, 1).query('example.com', 'A');
    expect(result).toMatchObject({ kind: 'tempfail', reason: /ECONNREFUSED|timeout/ });
  });
});

describe('createStubResolver: never throws', () => {
  it('answers every odd input with an outcome', async () => {
    const zone = await zoneServer({});
    const resolver = stub([parseDnsServer(zone.address)], 100, 1);
    const inputs = ['', '.', '..', 'a..b', '\n', 'x'.repeat(300), '%{i}', '😀.example', ' '];
    for (const name of inputs) expect(['nxdomain', 'nodata']).toContain((await resolver.query(name, 'TXT')).kind);
    expect(await resolver.reverse('not-an-ip')).toEqual({ kind: 'nxdomain', ttl: 0 });
  });

  it('answers tempfail for queries in flight when closed, and after', async () => {
    const blackHole = await rogue();
    const resolver = stub([blackHole.server], 5_000);
    const pending = resolver.query('example.com', 'A');
    await new Promise((resolve) => setTimeout(resolve, 20));
    resolver.close();
    expect(await pending).toEqual({ kind: 'tempfail', reason: 'resolver closed' });
    expect(await resolver.query('example.com', 'A')).toEqual({ kind: 'tempfail', reason: 'resolver closed' });
  });
});

describe('startZoneServer survives bad clients', () => {
  it('keeps answering after UDP garbage, TCP junk and TCP clients that hang up mid-message', async () => {
    const zone = await zoneServer({ 'example.com': { A: ['192.0.2.1'] } });
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.send(Buffer.from('garbage'), zone.port, '127.0.0.1', () => resolve()));
    udp.close();
    const junk = net.connect(zone.port, '127.0.0.1');
    junk.on('error', () => undefined);
    junk.write(Buffer.from([0x00, 0x05, 1, 2, 3, 4, 5]));
    const halfway = net.connect(zone.port, '127.0.0.1');
    halfway.on('error', () => undefined);
    halfway.end(Buffer.from([0x00, 0x40, 1, 2]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    junk.destroy();

    const resolver = stub([parseDnsServer(zone.address)]);
    expect(await resolver.query('example.com', 'A')).toMatchObject({ kind: 'records', records: ['192.0.2.1'] });
    zone.setZone({ 'example.com': { TRUNCATE: true, A: ['192.0.2.2'] } });
    expect(await resolver.query('example.com', 'A')).toMatchObject({ kind: 'records', records: ['192.0.2.2'] });
    expect(zone.queries.map((q) => q.transport)).toEqual(['udp', 'udp', 'tcp']);
  });
});

describe('startZoneServer answers bad zone data with SERVFAIL', () => {
  it('refuses to encode an A record that is not an address', async () => {
    const zone = await zoneServer({ 'bad.example.com': { A: ['not-an-ip'] }, 'bad6.example.com': { AAAA: ['192.0.2.1'] } });
    const resolver = stub([parseDnsServer(zone.address)]);
    expect(await resolver.query('bad.example.com', 'A')).toMatchObject({ kind: 'tempfail', reason: /^SERVFAIL from / });
    expect(await resolver.query('bad6.example.com', 'AAAA')).toMatchObject({ kind: 'tempfail', reason: /^SERVFAIL from / });
  });
});
