/**
 * What a DNS answer means for SPF, decided in one place (RFC 7208), and the short form of an
 * answer for the trace.
 *
 * | purpose                    | records        | NXDOMAIN / NODATA        | tempfail               |
 * |----------------------------|----------------|--------------------------|------------------------|
 * | `record` TXT (4.4)         | select v=spf1  | none (4.3, 4.4)          | temperror (4.4)        |
 * | `term` a, mx, exists (5)   | compare        | nothing found            | temperror (5)          |
 * | `mx-host` (5.4)            | compare        | nothing found            | temperror (5)          |
 * | `ptr` PTR (5.5)            | validate       | nothing found            | no match (5.5)         |
 * | `ptr-validate` (5.5)       | compare        | name not validated       | name skipped (5.5)     |
 * | `exp` TXT (6.2)            | expand         | no explanation           | no explanation (6.2)   |
 *
 * Void lookups (RFC 7208 4.6.4) are counted per term, by the evaluator: a DNS-querying term
 * (include, a, mx, ptr, exists, redirect) is one void lookup when everything it looked up
 * answered NXDOMAIN or NODATA. exp= never counts.
 */
import type { DnsAnswer, MxRecord, RecordData, RecordType } from '../../dns/types.js';

export type SpfLookupPurpose = 'record' | 'term' | 'mx-host' | 'ptr' | 'ptr-validate' | 'exp';

/** What the evaluator does with an answer: use its records, treat it as empty, or stop with temperror. */
export type SpfDnsVerdict = 'records' | 'empty' | 'temperror';

/** Maps a DNS answer to what it means for SPF, per the table above. */
export function classifyDnsAnswer(answer: DnsAnswer<unknown>, purpose: SpfLookupPurpose): SpfDnsVerdict {
  switch (answer.kind) {
    case 'records':
      return 'records';
    case 'nxdomain':
    case 'nodata':
      return 'empty';
    case 'tempfail':
      // RFC 7208 5.5: a failed PTR lookup only fails to match, a failed validation skips the
      // name; RFC 7208 6.2: a failed exp= lookup only loses the explanation.
      return purpose === 'ptr' || purpose === 'ptr-validate' || purpose === 'exp' ? 'empty' : 'temperror';
    default:
      return assertNever(answer);
  }
}

const SHOWN = 4;
const CUT = 120;

/** The answer in short, for the trace: "2 records: 192.0.2.1, 192.0.2.2", "NXDOMAIN", "tempfail (timeout)". */
export function shortAnswer<T extends RecordType>(answer: DnsAnswer<RecordData[T]>, type: T): string {
  switch (answer.kind) {
    case 'nxdomain':
      return 'NXDOMAIN';
    case 'nodata':
      return 'NODATA';
    case 'tempfail':
      return `tempfail (${answer.reason})`;
    case 'records': {
      const records = answer.records;
      let shown = '';
      for (let i = 0; i < records.length && i < SHOWN; i++) {
        const r = records[i] as RecordData[RecordType];
        const text = typeof r !== 'string' ? mx(r) : type === 'TXT' ? `"${r.length > CUT ? `${r.slice(0, CUT)}…` : r}"` : r;
        shown += i === 0 ? text : `, ${text}`;
      }
      const more = records.length > SHOWN ? `, … (${records.length - SHOWN} more)` : '';
      return `${records.length} record${records.length === 1 ? '' : 's'}: ${shown}${more}`;
    }
    default:
      return assertNever(answer);
  }
}

function mx(r: MxRecord): string {
  return `${r.preference} ${r.exchange === '' ? '.' : r.exchange}`;
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}
