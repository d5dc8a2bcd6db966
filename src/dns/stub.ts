/**
 * Kagami's stub resolver: dns-packet over UDP with TCP fallback, asking recursive servers.
 * node:dns (c-ares) is not used because it refuses names with `:` `%` or spaces and empty TXT
 * strings, which SPF macros produce, and hides TTLs and the AD bit (DESIGN.md section 3).
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { encodableName, reverseName } from './names.js';
import { formatDnsServer } from './servers.js';
import type { DnsAnswer, DnsResolver, DnsServerAddress, RecordData, RecordType } from './types.js';
import {
  answersQuestion,
  decodeMessage,
  encodeQuery,
  type DecodedMessage,
  readAnswer,
  type ReadAnswer,
  type WireQuestion,
} from './wire.js';

export interface StubResolverOptions {
  /** Servers to ask, in order; the next one is tried when one fails. */
  servers: DnsServerAddress[];
  /** How long to wait for each answer, per server and transport. Default 2000 ms. */
  timeoutMs?: number;
  /** Rounds over the server list before giving up on timeouts. Default 2. */
  attempts?: number;
}

export interface StubResolverStats {
  /** query()/reverse() calls. */
  queries: number;
  /** Queries sent over UDP or TCP. */
  sent: number;
  /** Packets ignored because they were undecodable or did not match the question (RFC 5452 9.1). */
  mismatches: number;
  /** Sends that got no acceptable answer in time. */
  timeouts: number;
  /** Truncated UDP answers retried over TCP. */
  tcpFallbacks: number;
}

export interface StubResolver extends DnsResolver {
  /** Aborts queries in flight (they answer tempfail) and refuses new ones. */
  close(): void;
  stats(): StubResolverStats;
}

/** What one send produced; `error` is a definite failure of that server, `timeout` may be retried. */
type Failure = { kind: 'timeout' } | { kind: 'error'; reason: string };
type Exchange = { kind: 'response'; response: DecodedMessage } | Failure;
type Outcome<T> = ReadAnswer<T> | { kind: 'timeout' };
/** The question of one query() call, with the count of packets ignored while answering it. */
interface Question<T extends RecordType> extends WireQuestion<T> {
  mismatches: number;
}

export function createStubResolver(options: StubResolverOptions): StubResolver {
  const servers = [...options.servers];
  const timeoutMs = options.timeoutMs ?? 2000;
  const attempts = options.attempts ?? 2;
  // A resolver with nothing to ask is a configuration bug, not a DNS outcome.
  if (servers.length === 0) throw new Error('createStubResolver: no DNS servers given');
  if (!(timeoutMs > 0) || !Number.isInteger(attempts) || attempts < 1) {
    throw new Error(`createStubResolver: bad timeoutMs (${timeoutMs}) or attempts (${attempts})`);
  }
  const stats: StubResolverStats = { queries: 0, sent: 0, mismatches: 0, timeouts: 0, tcpFallbacks: 0 };
  const inFlight = new Set<() => void>();
  let closed = false;

  async function query<T extends RecordType>(name: string, type: T): Promise<DnsAnswer<RecordData[T]>> {
    stats.queries++;
    const qname = encodableName(name);
    // A name that cannot be encoded cannot exist in the DNS, so NXDOMAIN is the true answer; TTL
    // 0 keeps it out of caches. SPF (RFC 7208 4.3, 4.6.4) then sees a non-existent name, not a
    // temporary error that would make the whole check temperror for a syntax problem.
    if (qname === undefined) return { kind: 'nxdomain', ttl: 0 };
    const question: Question<T> = { qname, type, mismatches: 0 };
    const failed = new Set<number>(); // servers that gave a definite error are not asked again
    let lastError: string | undefined;
    let sends = 0;
    for (let round = 0; round < attempts && failed.size < servers.length; round++) {
      for (const [index, server] of servers.entries()) {
        if (failed.has(index)) continue;
        if (closed) return { kind: 'tempfail', reason: 'resolver closed' };
        sends++;
        const outcome = await ask(server, question);
        if (outcome.kind === 'answer') return outcome.answer;
        if (outcome.kind === 'timeout') continue;
        failed.add(index);
        lastError = outcome.reason;
      }
    }
    const ignored = question.mismatches;
    const note = ignored > 0 ? ` (${ignored} mismatched or malformed answers ignored)` : '';
    const where = servers.map(formatDnsServer).join(', ');
    return { kind: 'tempfail', reason: (lastError ?? `timeout after ${sends} attempts to ${where}`) + note };
  }

  /** One question to one server: UDP, then TCP if the answer was truncated (RFC 7766 5). */
  async function ask<T extends RecordType>(
    server: DnsServerAddress,
    question: Question<T>,
  ): Promise<Outcome<RecordData[T]>> {
    let exchange = await udpExchange(server, question);
    if (exchange.kind === 'response' && exchange.response.flag_tc) {
      stats.tcpFallbacks++;
      exchange = await tcpExchange(server, question);
    }
    if (exchange.kind !== 'response') {
      if (exchange.kind === 'timeout') stats.timeouts++;
      return exchange;
    }
    return readAnswer(exchange.response, question, formatDnsServer(server));
  }

  /** The bookkeeping every exchange shares: the timer, abort on close(), settling once. */
  function exchangeWith(release: () => void, resolve: (e: Exchange) => void): (e: Exchange) => void {
    let done = false;
    const abort = (): void => settle({ kind: 'error', reason: 'resolver closed' });
    const timer = setTimeout(() => settle({ kind: 'timeout' }), timeoutMs);
    function settle(exchange: Exchange): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      inFlight.delete(abort);
      release();
      resolve(exchange);
    }
    inFlight.add(abort);
    return settle;
  }

  function mismatch(question: Question<RecordType>): void {
    stats.mismatches++;
    question.mismatches++;
  }

  function udpExchange(server: DnsServerAddress, question: Question<RecordType>): Promise<Exchange> {
    const id = randomInt(0, 65536); // RFC 5452 9.2: an unpredictable id for every send
    const wire = encodeQuery(id, question);
    const from = formatDnsServer(server);
    return new Promise((resolve) => {
      // RFC 5452 9.3: a fresh socket per send gets a fresh OS-chosen (random) source port.
      const socket = dgram.createSocket(net.isIP(server.host) === 6 ? 'udp6' : 'udp4');
      const settle = exchangeWith(() => {
        try {
          socket.close();
        } catch {
          // already closed after an error
        }
      }, resolve);
      const fail = (err: Error): void => settle({ kind: 'error', reason: `${errorCode(err)} from ${from}` });
      socket.on('error', fail);
      socket.on('message', (message: Buffer) => {
        const response = decodeMessage(message);
        // RFC 5452 9.1: accept only an answer to our id and question; anything else may be
        // spoofed, so keep listening rather than give up.
        if (response === undefined || !answersQuestion(response, id, question)) return mismatch(question);
        settle({ kind: 'response', response });
      });
      // connect() makes the kernel drop packets from other sources and report ICMP
      // port-unreachable as ECONNREFUSED instead of a silent timeout.
      socket.connect(server.port, server.host, () => {
        stats.sent++;
        socket.send(wire, (err) => err && fail(err));
      });
    });
  }

  function tcpExchange(server: DnsServerAddress, question: Question<RecordType>): Promise<Exchange> {
    const id = randomInt(0, 65536);
    const wire = encodeQuery(id, question);
    const from = formatDnsServer(server);
    return new Promise((resolve) => {
      const socket = net.connect({ host: server.host, port: server.port });
      const settle = exchangeWith(() => socket.destroy(), resolve);
      const fail = (reason: string): void => settle({ kind: 'error', reason });
      let received = Buffer.alloc(0);
      socket.on('connect', () => {
        stats.sent++;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(wire.length); // RFC 1035 4.2.2: two-byte length prefix
        socket.write(Buffer.concat([length, wire]));
      });
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
        const response = decodeMessage(received.subarray(2, 2 + received.readUInt16BE(0)));
        if (response === undefined) return fail(`malformed answer over TCP from ${from}`);
        if (!answersQuestion(response, id, question)) {
          mismatch(question); // on our own connection a wrong answer is a broken server, not a spoof
          return fail(`mismatched answer over TCP from ${from}`);
        }
        settle({ kind: 'response', response });
      });
      socket.on('error', (err) => fail(`${errorCode(err)} over TCP from ${from}`));
      socket.on('close', () => fail(`TCP connection closed by ${from} before an answer`));
    });
  }

  return {
    query,
    async reverse(ip) {
      const name = reverseName(ip);
      // Not an address: no such name can exist (same reasoning as an unencodable name).
      if (name === undefined) return { kind: 'nxdomain', ttl: 0 };
      return query(name, 'PTR');
    },
    close() {
      closed = true;
      for (const abort of [...inFlight]) abort();
    },
    stats: () => ({ ...stats }),
  };
}

function errorCode(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}
