/** Crafted stored reports for the analysis tables. */
import type { StoredAggregateRecord, StoredReport, StoredTlsFailure } from '../../../src/store/types.js';

export const DAY = 86_400;

export interface RecOptions {
  disposition?: string;
  headerFrom?: string;
  dkim?: Array<{ domain: string; result: string; selector?: string }>;
  spf?: Array<{ domain: string; result: string; scope?: string }>;
}

export function rec(sourceIp: string, count: number, dkim: string, spf: string, o: RecOptions = {}): StoredAggregateRecord {
  return {
    sourceIp, count, disposition: o.disposition ?? 'none', dkimAligned: dkim, spfAligned: spf, headerFrom: o.headerFrom ?? 'shop.example',
    envelopeFrom: null, dkim: o.dkim ?? [], spf: o.spf ?? [], overrides: [],
  };
}

/** An aggregate report about shop.example from `org`, one day from `begin` (seconds). */
export function agg(org: string, n: number, begin: number, records: StoredAggregateRecord[], domain = 'shop.example'): StoredReport {
  return {
    id: `${org}!${n}`, kind: 'aggregate', org, reportId: String(n), domain, begin, end: begin + DAY - 1, receivedAt: (begin + DAY + 3600) * 1000, source: 'file',
    records: records.length, messages: records.reduce((s, r) => s + r.count, 0), failed: 0,
    policy: {}, warnings: [], aggregateRecords: records, tlsPolicies: [], tlsFailures: [], failure: null,
  };
}

export function tls(org: string, n: number, begin: number, successful: number, failed: number, failures: Array<Partial<StoredTlsFailure> & { resultType: string; failedCount: number }> = [], domain = 'shop.example'): StoredReport {
  return {
    id: `${org}!tls${n}`, kind: 'tls', org, reportId: `tls${n}`, domain, begin, end: begin + DAY - 1, receivedAt: (begin + DAY) * 1000, source: 'file',
    records: 1, messages: successful + failed, failed,
    policy: {}, warnings: [], aggregateRecords: [], failure: null,
    tlsPolicies: [{ policyType: 'sts', policyDomain: domain, successful, failed }],
    tlsFailures: failures.map((f) => ({ policyDomain: domain, sendingIp: null, receivingMx: null, receivingIp: null, ...f })),
  };
}
