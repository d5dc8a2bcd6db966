/**
 * ARC validation conformance: every test of ValiMail's ARC validation suite
 * (shared/corpus/arc/valimail/arc-draft-validation-tests.yml, written against
 * draft-ietf-dmarc-arc-protocol-18) and the two ARC-sealed messages of stalwartlabs/mail-auth, run
 * through verifyArc with the suite's `txt-records` as a zoneResolver zone.
 *
 * Conventions (those of the suite's drivers and of shared/tools/auth-anchors/arc-suite.cjs):
 * - `cv` is the expected chain validation status (None/Pass/Fail); an empty `cv` (3 tests) means
 *   the chain must not validate and is counted as fail.
 * - Some test names appear twice in one scenario; as with PyYAML (the suite's own driver) the last
 *   one counts, so there are 171 distinct tests.
 * - Messages are stored with LF line ends; each test runs as stored and converted to CRLF (what
 *   arrives over SMTP).
 * - Tests that do not reach the suite's expectation are listed in arc-expectations.json with the
 *   reason. They still run and must give the documented outcome, so a change shows up.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { verifyArc } from '../../src/auth/arc/verify.js';
import { zoneResolver, type ZoneData } from '../../src/dns/zone.js';

const CORPUS = '/work/shared/corpus/arc';
const SUITE = `${CORPUS}/valimail/arc-draft-validation-tests.yml`;
/** The suite's seals carry t=12345…; nothing in it expires. A fixed clock keeps runs identical. */
const NOW = 1_767_225_600;

type Cv = 'none' | 'pass' | 'fail';

interface SuiteTest {
  name: string;
  scenario: string;
  spec: string;
  description: string;
  message: string;
  expected: Cv;
  zone: ZoneData;
}

interface Expectations {
  failures: Record<string, { expected: Cv; actual: string; reason: string }>;
}

function loadSuite(): SuiteTest[] {
  const tests = new Map<string, SuiteTest>();
  for (const doc of parseAllDocuments(readFileSync(SUITE, 'utf8'), { uniqueKeys: false })) {
    if (doc.errors.length) throw new Error(`${SUITE}: ${doc.errors[0]!.message}`);
    const scenario = doc.toJS() as { description?: string; tests?: Record<string, Record<string, unknown>>; 'txt-records'?: Record<string, unknown> } | null;
    if (!scenario) continue;
    const zone: ZoneData = {};
    for (const [name, txt] of Object.entries(scenario['txt-records'] ?? {})) zone[name] = { TXT: [String(txt)] };
    // toJS keeps the last of duplicated keys, as PyYAML does.
    for (const [name, t] of Object.entries(scenario.tests ?? {})) {
      const cv = String(t.cv ?? '').trim().toLowerCase();
      tests.set(name, {
        name,
        scenario: String(scenario.description ?? '').trim(),
        spec: String(t.spec ?? ''),
        description: String(t.description ?? ''),
        message: String(t.message ?? ''),
        expected: (cv === '' ? 'fail' : cv) as Cv,
        zone,
      });
    }
  }
  return [...tests.values()];
}

const suite = loadSuite();
const expectations = JSON.parse(readFileSync(new URL('./arc-expectations.json', import.meta.url), 'utf8')) as Expectations;

describe('ValiMail ARC validation suite', () => {
  it('has 171 distinct tests, and every listed failure is one of them', () => {
    expect(suite).toHaveLength(171);
    const names = new Set(suite.map((t) => t.name));
    expect(Object.keys(expectations.failures).filter((n) => !names.has(n))).toEqual([]);
    for (const [name, f] of Object.entries(expectations.failures)) {
      expect(f.expected, name).toBe(suite.find((t) => t.name === name)!.expected);
      expect(f.reason.length, name).toBeGreaterThan(20);
    }
  });

  for (const lineEnds of ['LF', 'CRLF'] as const) {
    describe(lineEnds, () => {
      it.each(suite.map((t) => [t.name, t] as const))('%s', async (_name, t) => {
        const text = lineEnds === 'CRLF' ? t.message.replace(/\r?\n/g, '\r\n') : t.message;
        const r = await verifyArc(Buffer.from(text), zoneResolver(t.zone), { now: NOW });
        // The suite knows no temperror: its zone never fails temporarily, so one here is a bug.
        const known = expectations.failures[t.name];
        const want = known ? known.actual : t.expected;
        expect(r.result, `${t.description} (${t.scenario}, spec ${t.spec}); reason: ${r.reason}`).toBe(want);
      });
    });
  }
});

describe('stalwartlabs/mail-auth ARC messages', () => {
  it.each(['001', '002'])('%s.txt validates (pass)', async (file) => {
    // Layout: "<name> <TXT value>" lines, a blank line, the message (LF; mail-auth converts to CRLF).
    const text = readFileSync(`${CORPUS}/stalwart-mail-auth/${file}.txt`, 'utf8');
    const split = text.indexOf('\n\n');
    const zone: ZoneData = {};
    for (const line of text.slice(0, split).split('\n')) {
      const space = line.indexOf(' ');
      zone[line.slice(0, space)] = { TXT: [line.slice(space + 1)] };
    }
    const message = Buffer.from(text.slice(split + 2).replace(/\r?\n/g, '\r\n'));
    const r = await verifyArc(message, zoneResolver(zone), { now: NOW });
    expect(r, r.reason).toMatchObject({ result: 'pass', oldestPass: 0 });
  });
});
