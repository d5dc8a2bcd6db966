/**
 * The openspf.org RFC 7208 test suite (203 tests), every test a named case, run twice: through
 * the in-memory zoneResolver, and through the stub resolver over real UDP/TCP against the zone
 * server. A test passes when the result is one of those listed and, where the suite gives one,
 * the explanation matches. Deliberate deviations are listed in spf-expectations.json with a
 * reason; a listed test asserts Kagami's documented answer instead, and fails if the deviation
 * disappears (so the list cannot go stale). Nothing is skipped.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySpf } from '../../src/auth/spf/verify.js';
import { createStubResolver, type StubResolver } from '../../src/dns/stub.js';
import { startZoneServer, zoneResolver, type ZoneServer } from '../support/dns-server.js';
import { loadSpfSuite, type SuiteScenario, type SuiteTest } from './spf-suite-loader.js';
import type { DnsResolver } from '../../src/dns/types.js';

interface Deviation {
  /** What differs from the suite. */
  field: 'explanation' | 'result';
  /** The suite's expectation. */
  suite: string;
  /** Kagami's answer, asserted instead. */
  kagami: string;
  /** The RFC text that decides. */
  section: string;
  reason: string;
}

const suite = loadSpfSuite();
const expectations = JSON.parse(readFileSync(new URL('./spf-expectations.json', import.meta.url), 'utf8')) as {
  deviations: Record<string, Deviation>;
};
const key = (t: SuiteTest): string => `${t.scenario} / ${t.name}`;

async function run(t: SuiteTest, resolver: DnsResolver) {
  return verifySpf({ ip: t.host, mailFrom: t.mailfrom, helo: t.helo }, resolver, { checkHelo: false, receiver: 'mx.kagami.test' });
}

async function judge(t: SuiteTest, resolver: DnsResolver): Promise<void> {
  const result = await run(t, resolver);
  const context = `${key(t)} (RFC 7208 ${t.spec}): ${result.reason}`;
  const deviation = expectations.deviations[key(t)];
  if (deviation?.field === 'result') {
    expect(result.result, context).toBe(deviation.kagami);
    expect(t.expected, 'listed deviation no longer differs from the suite').not.toContain(deviation.kagami);
    return;
  }
  expect(t.expected, context).toContain(result.result);
  if (t.explanation === undefined) return;
  const explanation = (result.result === 'fail' ? result.explanation : undefined) ?? 'DEFAULT';
  if (deviation?.field === 'explanation') {
    expect(explanation, context).toBe(deviation.kagami);
    expect(deviation.suite, 'deviation entry must quote the suite').toBe(t.explanation);
    expect(explanation, 'listed deviation no longer differs from the suite').not.toBe(t.explanation);
    return;
  }
  expect(explanation, context).toBe(t.explanation);
}

const title = (t: SuiteTest): string => (expectations.deviations[key(t)] ? `${t.name} [listed deviation]` : t.name);

describe('RFC 7208 suite: shape', () => {
  it('has 203 tests in 16 scenarios', () => {
    expect(suite.length).toBe(16);
    expect(suite.flatMap((s) => s.tests).length).toBe(203);
  });
  it('lists only deviations of tests that exist, each with a reason', () => {
    const names = new Set(suite.flatMap((s) => s.tests.map(key)));
    for (const [name, deviation] of Object.entries(expectations.deviations)) {
      expect(names.has(name), name).toBe(true);
      expect(deviation.reason.length, name).toBeGreaterThan(20);
      expect(deviation.section, name).toMatch(/RFC/);
    }
  });
});

describe('RFC 7208 suite in memory (zoneResolver)', () => {
  for (const scenario of suite) {
    describe(scenario.description, () => {
      for (const t of scenario.tests) {
        it(title(t), async () => {
          const resolver = zoneResolver(scenario.zone);
          await judge(t, resolver);
          assertZoneConventionsHeld(scenario, resolver.calls);
        });
      }
    });
  }
});

describe('RFC 7208 suite over UDP/TCP (stub resolver → zone server)', () => {
  for (const scenario of suite) {
    describe(scenario.description, () => {
      let server: ZoneServer;
      let resolver: StubResolver;
      beforeAll(async () => {
        server = await startZoneServer(scenario.zone);
        // A TIMEOUT name never answers; a short timeout keeps those tests quick.
        resolver = createStubResolver({ servers: [{ host: server.host, port: server.port }], timeoutMs: 250, attempts: 1 });
      });
      afterAll(async () => {
        resolver.close();
        await server.close();
      });
      for (const t of scenario.tests) it(title(t), () => judge(t, resolver));
    });
  }
});

/**
 * The zone cannot time out one type of a name while answering another, nor time out the
 * "error.*" names of testspf.py; check that no test depended on either.
 */
function assertZoneConventionsHeld(scenario: SuiteScenario, calls: Array<{ name: string; type: string }>): void {
  for (const call of calls) {
    const name = call.name.toLowerCase().replace(/\.$/, '');
    expect(name.startsWith('error.'), `query for ${name}`).toBe(false);
    const partial = scenario.partialTimeouts.find((p) => p.name === name);
    expect(partial?.timesOut.includes(call.type) ?? false, `${call.type} ${name} would time out in the suite`).toBe(false);
  }
}
