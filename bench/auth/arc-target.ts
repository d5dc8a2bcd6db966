/**
 * Kagami's ARC validation as a target of the shared auth-anchors harness
 * (/work/shared/tools/auth-anchors/README.md): `arcValidate(message, { resolver, now })`, where
 * `resolver(name, rrtype)` answers like node:dns `resolve`. The harness's resolver is wrapped into
 * Kagami's DnsResolver port, so the run goes through the same adapter (src/auth/arc/resolver.ts)
 * as production.
 *
 *   bash bench/auth/run.sh    (or: node arc-suite.cjs --target bench/auth/arc-target.ts)
 */
import type { DnsAnswer, DnsResolver, RecordData, RecordType } from '../../src/dns/types.js';
import { loadSource } from './load-source.ts';

const { verifyArc } = await loadSource<typeof import('../../src/auth/arc/verify.js')>('auth/arc/verify');

export const name = 'Kagami verifyArc (mailauth strict underneath)';

type HarnessResolver = (name: string, rrtype: string) => Promise<unknown[]>;

export async function arcValidate(message: Buffer, { resolver, now }: { resolver: HarnessResolver; now?: Date }): Promise<{ result: string; comment?: string }> {
  const seconds = now === undefined ? undefined : Math.floor(now.getTime() / 1000);
  const r = await verifyArc(message, portOf(resolver), seconds === undefined ? {} : { now: seconds });
  return { result: r.result, comment: r.reason };
}

/** node:dns-shaped function → DnsResolver (TXT strings joined, error codes to outcomes). */
function portOf(resolve: HarnessResolver): DnsResolver {
  async function query<T extends RecordType>(qname: string, type: T): Promise<DnsAnswer<RecordData[T]>> {
    try {
      const rows = await resolve(qname, type);
      const records = rows.map((row) => (type === 'TXT' ? (row as string[]).join('') : row)) as RecordData[T][];
      return records.length ? { kind: 'records', records, ttl: 300, authenticated: false } : { kind: 'nodata', ttl: 300 };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOTFOUND' || code === 'EBADNAME') return { kind: 'nxdomain', ttl: 300 };
      if (code === 'ENODATA') return { kind: 'nodata', ttl: 300 };
      return { kind: 'tempfail', reason: `${code ?? 'error'}: ${(err as Error).message}` };
    }
  }
  return {
    query,
    reverse: async () => ({ kind: 'tempfail', reason: 'reverse lookups are not part of the ARC harness' }),
  };
}
