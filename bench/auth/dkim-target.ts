/**
 * Kagami's DKIM verifier as a target of the shared auth-anchors harness
 * (/work/shared/tools/auth-anchors, contract in targets/mailauth-dkim.cjs):
 *
 *   node dkim-bench.cjs   --target /work/main/bench/auth/dkim-target.ts
 *   node dkim-vectors.cjs --target /work/main/bench/auth/dkim-target.ts
 *
 * Our sources are loaded through load-source.ts (Node's own type stripping).
 * The harness resolver behaves like node:dns (`TXT` as string[][], errors with `.code`); it is
 * wrapped into our DnsResolver port, one port per resolver function so the key cache lives as
 * long as the harness keeps its resolver.
 */
import type { DnsAnswer, DnsResolver, RecordData, RecordType } from '../../src/dns/types.js';
import { loadSource } from './load-source.ts';

type VerifyModule = typeof import('../../src/auth/dkim/verify.js');
const { verifyDkim } = await loadSource<VerifyModule>('auth/dkim/verify');

type NodeDnsResolve = (name: string, type: string) => Promise<string[][]>;

/** node:dns gives no TTL; the harness's zone is static, so any TTL will do. */
const ASSUMED_TTL = 300;

const ports = new WeakMap<NodeDnsResolve, DnsResolver>();

function port(resolve: NodeDnsResolve): DnsResolver {
  let p = ports.get(resolve);
  if (p) return p;
  async function query<T extends RecordType>(name: string, type: T): Promise<DnsAnswer<RecordData[T]>> {
    try {
      const rrs = await resolve(name, type);
      if (type !== 'TXT') return { kind: 'tempfail', reason: `the harness resolver is only used for TXT here` };
      const records = rrs.map((strings) => strings.join('')) as RecordData[T][];
      return records.length ? { kind: 'records', records, ttl: ASSUMED_TTL, authenticated: false } : { kind: 'nodata', ttl: ASSUMED_TTL };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTFOUND') return { kind: 'nxdomain', ttl: ASSUMED_TTL };
      if (code === 'ENODATA') return { kind: 'nodata', ttl: ASSUMED_TTL };
      return { kind: 'tempfail', reason: `${code ?? 'error'}: ${(err as Error).message}` };
    }
  }
  p = { query, reverse: async () => ({ kind: 'tempfail', reason: 'reverse lookups are not offered by the harness' }) };
  ports.set(resolve, p);
  return p;
}

export const name = 'Kagami verifyDkim (src/auth/dkim)';

export async function verify(message: Buffer, { resolver, now }: { resolver: NodeDnsResolve; now?: Date }) {
  const seconds = now ? now.getTime() / 1000 : undefined;
  const results = await verifyDkim(message, port(resolver), seconds === undefined ? {} : { now: () => seconds });
  return results.map((r) => ({ result: r.result, domain: r.domain, selector: r.selector, comment: r.reason }));
}
