import * as dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { answersQuestion, decodeMessage, encodeQuery, readAnswer, type DecodedMessage } from '../../../src/dns/wire.js';

/** Encodes then decodes a response, so the table reads what the stub resolver would read. */
type TestPacket = Partial<dnsPacket.Packet> & { rcode?: number };

function response(packet: TestPacket, question = 'example.com', type = 'A'): DecodedMessage {
  const { rcode = 0, ...rest } = packet;
  const wire = dnsPacket.encode({
    type: 'response',
    id: 7,
    flags: rcode | (rest.flags ?? 0),
    questions: [{ name: question, type: type as dnsPacket.RecordType }],
    ...rest,
  });
  const decoded = decodeMessage(wire);
  if (decoded === undefined) throw new Error('test packet does not decode');
  return decoded;
}

const a = (name: string, data: string, ttl = 300): dnsPacket.Answer => ({ name, type: 'A', ttl, data });
const cname = (name: string, data: string, ttl = 300): dnsPacket.Answer => ({ name, type: 'CNAME', ttl, data });

describe('readAnswer', () => {
  it.each([
    ['records', { answers: [a('example.com', '192.0.2.1', 50), a('EXAMPLE.com', '192.0.2.2', 40)] },
      { kind: 'records', records: ['192.0.2.1', '192.0.2.2'], ttl: 40, authenticated: false }],
    ['a CNAME chain in any order, TTL the minimum',
      { answers: [a('b.example', '192.0.2.3', 900), cname('a.example', 'b.example', 90), cname('example.com', 'A.example.', 600)] },
      { kind: 'records', records: ['192.0.2.3'], ttl: 90, authenticated: false }],
    ['records of other owners are not ours', { answers: [a('other.example', '192.0.2.9')] }, { kind: 'nodata', ttl: 60 }],
    ['a chain that ends without records', { answers: [cname('example.com', 'gone.example')] }, { kind: 'nodata', ttl: 60 }],
    ['class CH is ignored', { answers: [{ ...a('example.com', '192.0.2.1'), class: 'CH' as const }] },
      { kind: 'nodata', ttl: 60 }],
    ['nxdomain without SOA', { rcode: 3 }, { kind: 'nxdomain', ttl: 60 }],
    ['AD flag', { flags: dnsPacket.AUTHENTIC_DATA, answers: [a('example.com', '192.0.2.1')] },
      { kind: 'records', records: ['192.0.2.1'], ttl: 300, authenticated: true }],
  ])('%s', (_, packet, expected) => {
    const read = readAnswer(response(packet), { qname: 'example.com', type: 'A' }, 'test');
    expect(read).toEqual({ kind: 'answer', answer: expected });
  });

  it.each([
    [2, 'SERVFAIL from test'],
    [4, 'NOTIMP from test'],
    [5, 'REFUSED from test'],
  ])('rcode %i is a failure of the server', (rcode, reason) => {
    expect(readAnswer(response({ rcode }), { qname: 'example.com', type: 'A' }, 'test')).toEqual({ kind: 'error', reason });
  });

  it('decodes TXT, MX and PTR data', () => {
    const txt = response({ answers: [
      { name: 'example.com', type: 'TXT', ttl: 1, data: [Buffer.from('v=spf1 '), Buffer.from('-all')] },
      { name: 'example.com', type: 'TXT', ttl: 1, data: [Buffer.alloc(0)] },
      { name: 'example.com', type: 'TXT', ttl: 1, data: [Buffer.from([0xc3, 0xa9])] },
    ] }, 'example.com', 'TXT');
    expect(readAnswer(txt, { qname: 'example.com', type: 'TXT' }, 't')).toMatchObject({
      answer: { records: ['v=spf1 -all', '', 'é'] },
    });
    const mx = response({ answers: [
      { name: 'example.com', type: 'MX', ttl: 1, data: { preference: 10, exchange: 'MX.Example.com' } },
      { name: 'example.com', type: 'MX', ttl: 1, data: { preference: 0, exchange: '.' } }, // RFC 7505 null MX
    ] }, 'example.com', 'MX');
    expect(readAnswer(mx, { qname: 'example.com', type: 'MX' }, 't')).toMatchObject({
      answer: { records: [{ exchange: 'mx.example.com', preference: 10 }, { exchange: '', preference: 0 }] },
    });
  });
});

describe('encodeQuery / answersQuestion', () => {
  it('matches only the response to our id and question', () => {
    const query = decodeMessage(encodeQuery(7, { qname: 'example.com', type: 'A' }));
    expect(query).toMatchObject({ id: 7, flag_rd: true, flag_qr: false });
    const ok = response({}, 'Example.COM');
    expect(answersQuestion(ok, 7, { qname: 'example.com', type: 'A' })).toBe(true);
    expect(answersQuestion(ok, 8, { qname: 'example.com', type: 'A' })).toBe(false);
    expect(answersQuestion(ok, 7, { qname: 'example.org', type: 'A' })).toBe(false);
    expect(answersQuestion(ok, 7, { qname: 'example.com', type: 'TXT' })).toBe(false);
    if (query !== undefined) expect(answersQuestion(query, 7, { qname: 'example.com', type: 'A' })).toBe(false);
  });

  it('returns undefined for messages it cannot decode', () => {
    expect(decodeMessage(Buffer.from('junk'))).toBeUndefined();
    expect(decodeMessage(Buffer.alloc(0))).toBeUndefined();
  });
});
