/**
 * Kagami's SPF as a target of the shared auth-anchors harness
 * (/work/shared/tools/auth-anchors, contract in targets/mailauth-spf.cjs):
 *
 *   node spf-suite.cjs --target /work/main/bench/auth/spf-target.ts
 *   AA_SPF_TARGETS="$PWD/targets/mailauth-spf.cjs /work/main/bench/auth/spf-target.ts" ./run-all.sh
 *
 * Our sources are loaded through load-source.ts (Node's own type stripping).
 * The harness resolver behaves like node:dns (TXT as string[][], MX as {exchange, priority},
 * errors with `.code`); it is wrapped into our DnsResolver port once per resolver function.
 * Each call is one verifySpf() on the MAIL FROM identity (HELO when MAIL FROM is empty), as the
 * suite asks: the separate HELO check of RFC 7208 2.3 is off so one call is one check.
 */
import type { DnsAnswer, DnsResolver, MxRecord, RecordData, RecordType } from '../../src/dns/types.js';
import { loadSource } from './load-source.ts';

type VerifyModule = typeof import('../../src/auth/spf/verify.js');
const { verifySpf } = await loadSource<VerifyModule>('auth/spf/verify');

type NodeDnsResolve = (name: string, type: string) => Promise<unknown[]>;

/** node:dns gives no TTL; the harness's zone is static, so any TTL will do. */
const ASSUMED_TTL = 300;

const ports = new WeakMap<NodeDnsResolve, DnsResolver>();

/** The node:dns-shaped harness resolver as our DnsResolver port. */
export function port(resolve: NodeDnsResolve): DnsResolver {
  const known = ports.get(resolve);
  if (known !== undefined) return known;
  // Promise callbacks rather than an async frame: node:dns-style rejections are the common case.
  function query<T extends RecordType>(name: string, type: T): Promise<DnsAnswer<RecordData[T]>> {
    return resolve(name, type).then(
      (rrs): DnsAnswer<RecordData[T]> => {
        if (rrs.length === 0) return { kind: 'nodata', ttl: ASSUMED_TTL };
        return { kind: 'records', records: rrs.map((rr) => convert(type, rr)) as RecordData[T][], ttl: ASSUMED_TTL, authenticated: false };
      },
      (err: unknown): DnsAnswer<RecordData[T]> => {
        const code = (err as { code?: string }).code;
        if (code === 'ENOTFOUND') return { kind: 'nxdomain', ttl: ASSUMED_TTL };
        if (code === 'ENODATA') return { kind: 'nodata', ttl: ASSUMED_TTL };
        // Like our stub resolver: a name that cannot be put in a query cannot exist.
        if (code === 'EBADNAME') return { kind: 'nxdomain', ttl: 0 };
        return { kind: 'tempfail', reason: `${code ?? 'error'}: ${(err as Error).message}` };
      },
    );
  }
  const p: DnsResolver = { query, reverse: async () => ({ kind: 'tempfail', reason: 'checkHost() asks PTR names through query()' }) };
  ports.set(resolve, p);
  return p;
}

function convert(type: RecordType, rr: unknown): RecordData[RecordType] {
  switch (type) {
    case 'TXT': {
      const strings = rr as string[];
      return strings.length === 1 ? strings[0]! : strings.join('');
    }
    case 'MX': {
      const mx = rr as { exchange: string; priority: number };
      return { exchange: mx.exchange.toLowerCase().replace(/\.$/, ''), preference: mx.priority } satisfies MxRecord;
    }
    case 'PTR':
    case 'CNAME':
    case 'NS':
      return (rr as string).toLowerCase().replace(/\.$/, '');
    default:
      return rr as string;
  }
}

export const name = 'Kagami verifySpf (src/auth/spf)';

const OPTIONS = { checkHelo: false, receiver: 'mx.kagami.test' };

/** The verification itself meets the contract: it has `result`, and `explanation` on fail. */
export function checkHost({ ip, sender, helo, resolver }: { ip: string; sender: string; helo: string; resolver: NodeDnsResolve }) {
  return verifySpf({ ip, mailFrom: sender, helo }, port(resolver), OPTIONS);
}
