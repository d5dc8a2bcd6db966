/**
 * A small authoritative DNS server over UDP and TCP that answers from an in-memory zone
 * (`lookupZone`). Tests point the stub resolver at it to exercise the real wire, and
 * `kagami demo` runs it so the demo mail has SPF, DKIM and DMARC records to find.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { normalizeName } from './names.js';
import { formatDnsServer } from './servers.js';
import { decodeMessage, type DecodedMessage } from './wire.js';
import { lookupZone, type ZoneData, type ZoneRecord } from './zone.js';

export interface ZoneServerOptions {
  /** Address to bind, UDP and TCP. Default 127.0.0.1. */
  host?: string;
  /** Port for both UDP and TCP; 0 (default) picks a free one. */
  port?: number;
}

export interface ZoneServer {
  host: string;
  port: number;
  /** "127.0.0.1:PORT", as parseDnsServer reads it. */
  address: string;
  /** Replaces the zone for the following queries. */
  setZone(zone: ZoneData): void;
  /** Every well-formed query received, in order, with the name as it came on the wire. */
  queries: Array<{ name: string; type: string; transport: 'udp' | 'tcp' }>;
  close(): Promise<void>;
}

/** RFC 1035 4.2.1: the UDP limit for a client that sent no EDNS OPT record. */
const CLASSIC_UDP_LIMIT = 512;
/** What the server advertises in its own OPT record (DNS Flag Day 2020). */
const SERVER_UDP_PAYLOAD = 1232;
/** Idle TCP connections are closed after this long (RFC 7766 6.2.3 asks servers to time them out). */
const TCP_IDLE_MS = 10_000;
const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export async function startZoneServer(zone: ZoneData, options: ZoneServerOptions = {}): Promise<ZoneServer> {
  const host = options.host ?? '127.0.0.1';
  let current = zone;
  const queries: ZoneServer['queries'] = [];
  const { udp, tcp, port } = await bindBoth(host, options.port ?? 0);
  const connections = new Set<net.Socket>();

  function reply(request: DecodedMessage, transport: 'udp' | 'tcp'): Buffer | undefined {
    const question = request.questions?.[0];
    // Answer only well-formed queries: never a response (no reflection loops), one question (RFC 9619).
    const wellFormed = !request.flag_qr && request.opcode === 'QUERY' && request.questions?.length === 1;
    if (!wellFormed || question === undefined) return undefined;
    queries.push({ name: question.name, type: question.type, transport });
    const lookup = lookupZone(current, question.name, question.type);
    if (lookup.rcode === 'TIMEOUT') return undefined;
    const rcode = (question.class ?? 'IN') !== 'IN' ? 'REFUSED' : lookup.rcode;
    const requestOpt = request.additionals?.find((rr) => rr.type === 'OPT');
    const base: dnsPacket.Packet = {
      type: 'response',
      id: request.id ?? 0,
      // RFC 1035 4.1.1: AA as the zone's authority; RD copied from the query.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (request.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | RCODES[rcode],
      questions: [question],
      answers: [],
      authorities: [],
      additionals: requestOpt === undefined ? [] : [serverOpt()],
    };
    const full: dnsPacket.Packet = { ...base };
    let wire: Buffer;
    try {
      if (rcode !== 'REFUSED') {
        full.answers = lookup.answers.map(toWire);
        const hasData = lookup.answers.some((rr) => rr.type === question.type);
        // RFC 2308 3: NXDOMAIN and NODATA carry the SOA whose MINIMUM sets the negative TTL.
        if (rcode === 'NXDOMAIN' || (rcode === 'NOERROR' && !hasData)) {
          full.authorities = [soa(question.name, lookup.negativeTtl)];
        }
      }
      wire = dnsPacket.encode(full);
    } catch {
      // Zone data dns-packet cannot encode (say an A record that is not an address): SERVFAIL.
      const flags = (base.flags ?? 0) & ~0xf;
      return dnsPacket.encode({ ...base, flags: flags | RCODES.SERVFAIL });
    }
    if (transport === 'tcp') return wire;
    const limit = requestOpt !== undefined && 'udpPayloadSize' in requestOpt
      ? Math.max(CLASSIC_UDP_LIMIT, requestOpt.udpPayloadSize)
      : CLASSIC_UDP_LIMIT;
    if (!lookup.truncate && wire.length <= limit) return wire;
    // RFC 2181 9 / RFC 7766 5: too big (or marked TRUNCATE): set TC, send no records, let TCP carry them.
    return dnsPacket.encode({ ...base, flags: (base.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
  }

  /** Decodes and answers one message ('junk' if undecodable). Never throws: a bad client must not stop the server. */
  function answerTo(message: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined | 'junk' {
    const request = decodeMessage(message);
    if (request === undefined) return 'junk';
    try {
      return reply(request, transport);
    } catch {
      return undefined; // a question dns-packet decodes but cannot encode back (an odd class, say)
    }
  }

  udp.on('message', (message: Buffer, peer: dgram.RemoteInfo) => {
    const answer = answerTo(message, 'udp');
    if (answer instanceof Buffer) udp.send(answer, peer.port, peer.address, () => undefined);
  });
  udp.on('error', () => undefined); // a failed send must not stop the server

  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // RFC 7766 6.2.1: several length-prefixed queries may arrive on one connection.
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const length = pending.readUInt16BE(0);
        const answer = answerTo(pending.subarray(2, 2 + length), 'tcp');
        pending = pending.subarray(2 + length);
        if (answer === 'junk') {
          socket.destroy(); // the stream cannot be trusted to stay in frame
          return;
        }
        if (answer !== undefined) socket.write(Buffer.concat([lengthPrefix(answer.length), answer]));
      }
    });
  });

  return {
    host,
    port,
    address: formatDnsServer({ host, port }),
    setZone(next) {
      current = next;
    },
    queries,
    async close() {
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

/** Binds UDP first (port 0 lets the OS choose), then TCP on the same port; retries if TCP's is taken. */
async function bindBoth(host: string, port: number): Promise<{ udp: dgram.Socket; tcp: net.Server; port: number }> {
  const tries = port === 0 ? 8 : 1;
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket(net.isIP(host) === 6 ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const bound = udp.address().port;
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(bound, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp, port: bound };
    } catch (err) {
      udp.close();
      if (attempt >= tries) throw err;
    }
  }
}

function toWire(rr: ZoneRecord): dnsPacket.Answer {
  const common = { name: rr.name, ttl: rr.ttl, class: 'IN' as const };
  switch (rr.type) {
    case 'TXT':
      return { ...common, type: 'TXT', data: rr.data.flatMap(characterStrings) };
    case 'MX':
      return { ...common, type: 'MX', data: { preference: rr.data.preference, exchange: rr.data.exchange } };
    case 'A':
    case 'AAAA':
      // dns-packet would quietly encode "not-an-ip" as 46.0.0.0; refuse so the reply is SERVFAIL.
      if (net.isIP(rr.data) !== (rr.type === 'A' ? 4 : 6)) throw new Error(`bad ${rr.type} data ${rr.data}`);
      return { ...common, type: rr.type, data: rr.data };
    default:
      return { ...common, type: rr.type, data: rr.data };
  }
}

/** RFC 1035 3.3: a character-string holds at most 255 octets, so longer text is split. */
function characterStrings(text: string): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return [bytes];
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) parts.push(bytes.subarray(i, i + 255));
  return parts;
}

/** A made-up SOA for the negative answer; the zone has no apex, so the last two labels stand in. */
function soa(qname: string, negativeTtl: number): dnsPacket.Answer {
  const apex = normalizeName(qname).split('.').slice(-2).join('.');
  const under = (label: string): string => (apex === '' ? `${label}.invalid` : `${label}.${apex}`);
  return {
    name: apex === '' ? '.' : apex,
    type: 'SOA',
    ttl: negativeTtl,
    class: 'IN',
    data: {
      mname: under('ns'),
      rname: under('hostmaster'),
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: negativeTtl,
    },
  };
}

function serverOpt(): dnsPacket.Answer {
  const fields = { udpPayloadSize: SERVER_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false };
  return { type: 'OPT', name: '.', ...fields, options: [] };
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(length);
  return prefix;
}
