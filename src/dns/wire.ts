/**
 * The DNS message side of the stub resolver, with no sockets: building the query, checking that
 * a response answers it, and reading the response into a DnsAnswer. Pure, so it is tested by
 * table and shared by the zone server.
 */
import * as dnsPacket from 'dns-packet';
import { normalizeName } from './names.js';
import type { DnsAnswer, RecordData, RecordType } from './types.js';

/** RFC 6891 6.2.5, with the DNS Flag Day 2020 value: big enough for most answers, too small to fragment. */
export const EDNS_UDP_PAYLOAD = 1232;
/** RFC 2308 5: the negative TTL to use when the answer carries no SOA. */
export const DEFAULT_NEGATIVE_TTL = 60;
/** CNAME hops followed inside one answer section. */
const MAX_CNAME_HOPS = 16;

/** dns-packet's decoded message; its typings omit the header's rcode and opcode. */
export type DecodedMessage = dnsPacket.DecodedPacket & { rcode?: string; opcode?: string };

/** A question as sent: the name already normalized by encodableName. */
export interface WireQuestion<T extends RecordType = RecordType> {
  qname: string;
  type: T;
}

/** A response read as an answer, or as a definite failure of the server that sent it. */
export type ReadAnswer<T> = { kind: 'answer'; answer: DnsAnswer<T> } | { kind: 'error'; reason: string };

/** The query for one question: RD set, EDNS0 OPT with our payload size, DO off. */
export function encodeQuery(id: number, question: WireQuestion): Buffer {
  const opt = { udpPayloadSize: EDNS_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false };
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED, // RFC 1035 4.1.1: we are a stub, the server recurses
    questions: [{ name: question.qname, type: question.type, class: 'IN' }],
    // RFC 6891 6.1.2: an OPT pseudo-RR advertising our UDP payload size. DO stays off (flags 0):
    // we do not validate DNSSEC ourselves, we only pass on the server's AD bit.
    additionals: [{ type: 'OPT', name: '.', ...opt, options: [] }],
  });
}

/** Decodes a DNS message, or undefined for anything dns-packet cannot read. */
export function decodeMessage(message: Buffer): DecodedMessage | undefined {
  try {
    return dnsPacket.decode(message) as DecodedMessage;
  } catch {
    return undefined;
  }
}

/** RFC 5452 9.1: our id, a response, and one question equal to ours (names case-insensitive, RFC 4343). */
export function answersQuestion(response: DecodedMessage, id: number, asked: WireQuestion): boolean {
  const question = response.questions?.[0];
  return (
    response.id === id &&
    response.flag_qr &&
    response.opcode === 'QUERY' &&
    response.questions?.length === 1 &&
    question !== undefined &&
    normalizeName(question.name) === asked.qname &&
    question.type === asked.type &&
    (question.class ?? 'IN') === 'IN'
  );
}

/** Reads a matching response (RFC 1035 4.1.1 rcodes, RFC 2308 negative answers); `from` names the server. */
export function readAnswer<T extends RecordType>(
  response: DecodedMessage,
  question: WireQuestion<T>,
  from: string,
): ReadAnswer<RecordData[T]> {
  const opt = response.additionals?.find((rr) => rr.type === 'OPT');
  if (opt !== undefined && 'extendedRcode' in opt && opt.extendedRcode !== 0) {
    // RFC 6891 6.1.3: the upper rcode bits are set, e.g. BADVERS.
    return { kind: 'error', reason: `extended rcode ${opt.extendedRcode} from ${from}` };
  }
  type Read = ReadAnswer<RecordData[T]>;
  const answer = (result: DnsAnswer<RecordData[T]>): Read => ({ kind: 'answer', answer: result });
  switch (response.rcode) {
    case 'NOERROR': {
      const { records, ttl } = collect(response, question.qname, question.type);
      if (records.length === 0) return answer({ kind: 'nodata', ttl: negativeTtl(response) });
      return answer({ kind: 'records', records, ttl, authenticated: response.flag_ad });
    }
    case 'NXDOMAIN':
      return answer({ kind: 'nxdomain', ttl: negativeTtl(response) });
    default: // SERVFAIL, REFUSED, NOTIMP, FORMERR, ...: the server could not tell us
      return { kind: 'error', reason: `${response.rcode ?? 'unknown rcode'} from ${from}` };
  }
}

/**
 * Follows the CNAME chain from the question name through the answer section (RFC 1034 4.3.2,
 * 5.2.2) and returns the records of the asked type at its end. The TTL is the minimum over the
 * chain and the RRset: the answer is only as durable as its weakest link.
 */
function collect<T extends RecordType>(
  response: DecodedMessage,
  qname: string,
  type: T,
): { records: RecordData[T][]; ttl: number } {
  const answers = (response.answers ?? []).filter((rr) => rr.type !== 'OPT' && (rr.class ?? 'IN') === 'IN');
  let owner = qname;
  let ttl = Infinity;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const here = answers.filter((rr) => normalizeName(rr.name) === owner);
    const rrset = here.filter((rr) => rr.type === type);
    if (rrset.length > 0) {
      const records = rrset.map((rr) => recordData(rr) as RecordData[T]);
      return { records, ttl: Math.min(ttl, ...rrset.map((rr) => ('ttl' in rr ? (rr.ttl ?? 0) : 0))) };
    }
    const cname = here.find((rr): rr is dnsPacket.StringAnswer => rr.type === 'CNAME');
    if (cname === undefined) break;
    ttl = Math.min(ttl, cname.ttl ?? 0);
    owner = normalizeName(cname.data);
  }
  return { records: [], ttl: 0 };
}

function recordData(rr: dnsPacket.Answer): RecordData[RecordType] {
  switch (rr.type) {
    case 'TXT': {
      // RFC 7208 3.3 / RFC 6376 3.6.2.2: the character-strings of one RR are concatenated.
      const parts = Array.isArray(rr.data) ? rr.data : [rr.data];
      return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString('utf8');
    }
    case 'MX':
      return { exchange: normalizeName(rr.data.exchange), preference: rr.data.preference ?? 0 };
    case 'A':
    case 'AAAA':
      return rr.data;
    case 'PTR':
    case 'CNAME':
    case 'NS':
      return normalizeName(rr.data);
    default:
      return '';
  }
}

/** RFC 2308 5: the negative TTL is the smaller of the SOA's own TTL and its MINIMUM field. */
function negativeTtl(response: DecodedMessage): number {
  const soa = response.authorities?.find((rr) => rr.type === 'SOA');
  if (soa === undefined || soa.type !== 'SOA') return DEFAULT_NEGATIVE_TTL;
  return Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0);
}
