/**
 * Loads the openspf.org RFC 7208 YAML suite and turns each scenario's zonedata into a ZoneData
 * that both the in-memory zoneResolver and the real zone server serve, following the zonedata
 * conventions of pyspf's reference driver (test/testspf.py):
 *   - "SPF:" entries are served as TXT unless the name has any "TXT:" entry (type SPF itself is
 *     never asked for: RFC 7208 3.1 dropped it);
 *   - "TXT: NONE" means no TXT record; a list value is one RR of several strings, joined;
 *   - a bare TIMEOUT makes every query of a type not listed before it time out;
 *   - a name not in the zonedata does not exist; CNAME entries are aliases.
 * The YAML is read with Debian's python3-yaml (no JS YAML dependency is added).
 *
 * ZoneData times out a whole name, not one type; a name with records before its TIMEOUT keeps
 * them and loses the timeout for other types. `partialTimeouts` lists such names so the suite
 * test can check that no test asks them for one of those types (none does).
 */
import { execFileSync } from 'node:child_process';
import type { MxRecord } from '../../src/dns/types.js';
import type { ZoneData, ZoneEntry } from '../../src/dns/zone.js';
import type { SpfResultCode } from '../../src/auth/spf/types.js';

export const SUITE_PATH = '/work/shared/corpus/spf/rfc7208-tests.yml';
export const PYTHON = '/usr/bin/python3';

export interface SuiteTest {
  scenario: string;
  name: string;
  spec: string;
  description: string;
  host: string;
  mailfrom: string;
  helo: string;
  /** Acceptable results, preferred first. */
  expected: SpfResultCode[];
  /** Expected explanation; "DEFAULT" means no domain-owner explanation. */
  explanation: string | undefined;
}

export interface SuiteScenario {
  description: string;
  zone: ZoneData;
  tests: SuiteTest[];
  /** Names that answer some types but would time out for others (see the file comment). */
  partialTimeouts: Array<{ name: string; timesOut: string[] }>;
  /** The raw zonedata, for oracles that apply the conventions themselves. */
  zonedata: Record<string, unknown[]>;
}

interface RawDoc {
  description: string;
  tests: Record<string, { spec?: unknown; description?: string; host: unknown; mailfrom?: unknown; helo?: unknown; result: string | string[]; explanation?: unknown }>;
  zonedata?: Record<string, unknown[]>;
}

/** Reads a YAML stream into JSON with python3-yaml. */
export function readYamlDocuments(path: string): unknown[] {
  const script = 'import json,sys,yaml\njson.dump([d for d in yaml.safe_load_all(open(sys.argv[1],"rb")) if d], sys.stdout, default=str)';
  return JSON.parse(execFileSync(PYTHON, ['-c', script, path], { encoding: 'utf8', maxBuffer: 64 << 20 })) as unknown[];
}

export function loadSpfSuite(path = SUITE_PATH): SuiteScenario[] {
  return (readYamlDocuments(path) as RawDoc[]).map((doc) => {
    const { zone, partialTimeouts } = zoneFromZonedata(doc.zonedata ?? {});
    const tests = Object.entries(doc.tests).map(([name, t]) => ({
      scenario: doc.description,
      name,
      spec: String(t.spec ?? ''),
      description: String(t.description ?? ''),
      host: String(t.host),
      mailfrom: t.mailfrom === undefined || t.mailfrom === null ? '' : String(t.mailfrom),
      helo: t.helo === undefined || t.helo === null ? '' : String(t.helo),
      expected: ([] as string[]).concat(t.result) as SpfResultCode[],
      explanation: t.explanation === undefined || t.explanation === null ? undefined : String(t.explanation),
    }));
    return { description: doc.description, zone, tests, partialTimeouts, zonedata: doc.zonedata ?? {} };
  });
}

type Entry = 'TIMEOUT' | { type: string; value: unknown };
const TYPES = ['A', 'AAAA', 'TXT', 'MX', 'PTR', 'CNAME'] as const;

/** Applies the testspf.py conventions to one scenario's zonedata. */
export function zoneFromZonedata(zonedata: Record<string, unknown[]>): { zone: ZoneData; partialTimeouts: SuiteScenario['partialTimeouts'] } {
  const zone: ZoneData = {};
  const partialTimeouts: SuiteScenario['partialTimeouts'] = [];
  for (const [owner, list] of Object.entries(zonedata)) {
    const entries: Entry[] = [];
    const generated: Entry[] = [];
    let generate = true;
    for (const item of list ?? []) {
      if (item === 'TIMEOUT') {
        entries.push('TIMEOUT');
        continue;
      }
      for (const [type, raw] of Object.entries(item as Record<string, unknown>)) {
        const value = (type === 'TXT' || type === 'SPF') && typeof raw === 'string' ? [raw] : raw;
        if (type === 'TXT') generate = false;
        else if (type === 'SPF' && generate) generated.push({ type: 'TXT', value });
        if (value === 'TIMEOUT') throw new Error(`${owner}: a per-type TIMEOUT value is not supported`);
        const none = Array.isArray(value) ? value.length === 1 && value[0] === 'NONE' : value === 'NONE';
        if (!none && type !== 'SPF') entries.push({ type, value });
      }
    }
    if (generate) entries.push(...generated);
    const name = owner.toLowerCase().replace(/\.$/, '');
    const entry: ZoneEntry = zone[name] ?? {};
    const timesOut: string[] = [];
    let answered = 0;
    for (const type of TYPES) {
      const outcome = answerFor(entries, type);
      if (outcome === 'TIMEOUT') timesOut.push(type);
      else if (outcome.length > 0) {
        answered++;
        addRecords(entry, type, outcome, owner);
      }
    }
    if (timesOut.length > 0 && answered === 0) entry.TIMEOUT = true;
    else if (timesOut.length > 0) partialTimeouts.push({ name, timesOut });
    if (entry.CNAME !== undefined && Object.keys(entry).length > 1) throw new Error(`${owner}: CNAME with other data`);
    zone[name] = entry;
  }
  return { zone, partialTimeouts };
}

/** What a query of `type` gets under the conventions: the records, or TIMEOUT. */
function answerFor(entries: Entry[], type: string): unknown[] | 'TIMEOUT' {
  const out: unknown[] = [];
  for (const e of entries) {
    if (e === 'TIMEOUT') return out.length > 0 ? out : 'TIMEOUT';
    if (e.type === type) out.push(e.value);
  }
  return out;
}

function addRecords(entry: ZoneEntry, type: (typeof TYPES)[number], values: unknown[], owner: string): void {
  switch (type) {
    case 'A':
    case 'AAAA':
    case 'PTR':
      entry[type] = values.map(String);
      return;
    case 'TXT':
      entry.TXT = values.map((v) => (Array.isArray(v) ? v.map(String) : String(v)));
      return;
    case 'MX':
      entry.MX = values.map((v): MxRecord => {
        const [preference, exchange] = v as [number, string];
        return { preference: Number(preference), exchange: String(exchange) };
      });
      return;
    case 'CNAME':
      if (values.length !== 1) throw new Error(`${owner}: several CNAMEs`);
      entry.CNAME = String(values[0]);
      return;
  }
}
