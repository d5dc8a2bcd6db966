/**
 * Differential test against pyspf (Debian python3-spf 2.0.14, the suite author's own library).
 * Both read the same zones over real UDP/TCP from our zone server: a few hundred seeded random
 * policies, and the zones of the RFC 7208 suite. Where the two agree, that is the test. Where
 * they differ, the difference must belong to a category listed in spf-pyspf-differences.md
 * with the RFC section that decides it, and Kagami must give the RFC's answer. pyspf missing is
 * a failure, never a skip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpfResultCode } from '../../src/auth/spf/types.js';
import { verifySpf, type SpfVerification } from '../../src/auth/spf/verify.js';
import { createStubResolver, type StubResolver } from '../../src/dns/stub.js';
import { startZoneServer, type ZoneServer } from '../support/dns-server.js';
import { loadSpfSuite, PYTHON, type SuiteTest } from '../compliance/spf-suite-loader.js';
import { randomPolicies, type RandomCheck } from './spf-random-policies.js';

const ORACLE = new URL('./spf-pyspf-oracle.py', import.meta.url).pathname;
const DIFFERENCES = readFileSync(new URL('./spf-pyspf-differences.md', import.meta.url), 'utf8');
const SEED = 7208;
const RANDOM_CHECKS = 320;

interface PyspfAnswer {
  result: SpfResultCode | 'exception';
  explanation: string | null;
  message: string;
  relaxedVoid: SpfResultCode | null;
}

interface Case extends RandomCheck {
  name: string;
  port: number;
  /** For suite cases: the results the suite allows (the RFC answer where implementations may differ). */
  suite?: SuiteTest;
  kagami?: SpfVerification;
  pyspf?: PyspfAnswer;
}

/** A difference category: its id (a heading in the .md), when it applies, and the RFC answer Kagami must give. */
interface Category {
  id: string;
  applies(c: Case): boolean;
  rfcAnswer(c: Case): readonly string[];
}

const CATEGORIES: Category[] = [
  {
    // pyspf counts every empty answer (each MX host, each PTR name, the PTR lookup itself) as a
    // void lookup; RFC 7208 4.6.4 limits *terms*. With pyspf's limit lifted, its result must be
    // Kagami's, and Kagami's own count must be within the limit.
    id: 'void-lookups-per-term',
    applies: (c) => c.pyspf?.result === 'permerror' && c.pyspf.message.includes('Void lookup limit') && (c.kagami?.voidLookups ?? 99) <= 2,
    rfcAnswer: (c) => (c.pyspf?.relaxedVoid ? [c.pyspf.relaxedVoid] : []),
  },
  {
    // Two identical TXT records: dnspython merges them into one rdata (an RRset is a set,
    // RFC 2181 5), our stub passes both on; RFC 7208 4.5 makes two records a permerror.
    id: 'identical-txt-records',
    applies: (c) => c.kagami?.result === 'permerror' && c.kagami.reason.includes('SPF records; there must be exactly one') && c.pyspf?.result !== 'permerror',
    rfcAnswer: () => ['permerror'],
  },
  {
    // A PTR name whose address lookup fails (a CNAME loop): RFC 7208 5.5 skips the name;
    // dnspython raises on the loop and pyspf turns that into temperror.
    id: 'ptr-name-dns-error',
    applies: (c) =>
      c.pyspf?.result === 'temperror' &&
      /CNAME/.test(c.pyspf.message) &&
      (c.kagami?.trace.some((s) => s.query?.type === 'PTR') ?? false),
    rfcAnswer: (c) => c.suite?.expected ?? ['neutral', 'pass', 'fail', 'softfail'],
  },
];

const suite = loadSpfSuite();
const random = randomPolicies(SEED, RANDOM_CHECKS);
const servers: ZoneServer[] = [];
const resolvers: StubResolver[] = [];
const randomCases: Case[] = [];
const suiteCases: Case[] = [];
let pyspfProblem: string | undefined;

beforeAll(async () => {
  const probe = spawnSync(PYTHON, ['-c', 'import spf, dns.resolver; print(spf.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    pyspfProblem = `pyspf is not usable under ${PYTHON} (apt-get install python3-spf python3-dnspython): ${probe.stderr.trim()}`;
    return;
  }
  const randomServer = await startZoneServer(random.zone);
  servers.push(randomServer);
  random.checks.forEach((c, i) => randomCases.push({ ...c, name: `#${i} ${c.sender.split('@')[1]} from ${c.ip}`, port: randomServer.port }));
  for (const scenario of suite) {
    const server = await startZoneServer(scenario.zone);
    servers.push(server);
    for (const t of scenario.tests) {
      suiteCases.push({ ip: t.host, sender: t.mailfrom, helo: t.helo, name: `${scenario.description} / ${t.name}`, port: server.port, suite: t });
    }
  }
  const all = [...randomCases, ...suiteCases];
  const answers = await runOracle(all);
  all.forEach((c, i) => (c.pyspf = answers[i]));
  const byPort = new Map<number, StubResolver>();
  for (const server of servers) {
    const resolver = createStubResolver({ servers: [{ host: server.host, port: server.port }], timeoutMs: 400, attempts: 1 });
    resolvers.push(resolver);
    byPort.set(server.port, resolver);
  }
  for (const c of all) {
    c.kagami = await verifySpf({ ip: c.ip, mailFrom: c.sender, helo: c.helo }, byPort.get(c.port)!, { checkHelo: false, receiver: 'mx.kagami.test' });
  }
}, 600_000);

afterAll(async () => {
  for (const r of resolvers) r.close();
  await Promise.all(servers.map((s) => s.close()));
});

function runOracle(cases: Case[]): Promise<PyspfAnswer[]> {
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the zone servers answering pyspf live in this process.
    const child = spawn(PYTHON, [ORACLE], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`pyspf oracle exited ${code}: ${err}`));
      resolve(JSON.parse(out) as PyspfAnswer[]);
    });
    child.stdin.end(JSON.stringify({ cases: cases.map(({ ip, sender, helo, port }) => ({ ip, sender, helo, port })) }));
  });
}

/** Agreement on the result and, for fail, on the explanation. */
function agree(c: Case): boolean {
  const k = c.kagami!;
  const p = c.pyspf!;
  if (k.result !== p.result) return false;
  if (k.result !== 'fail') return true;
  return (k.explanation ?? 'DEFAULT') === (p.explanation ?? 'DEFAULT') || explanationsDifferOnlyInNibbleCase(k.explanation, p.explanation);
}

/** pyspf writes %{i} nibbles uppercase, RFC 7208 7.4 lowercase (spf-expectations.json, v-macro-ip6). */
function explanationsDifferOnlyInNibbleCase(a: string | undefined, b: string | null): boolean {
  return a !== undefined && b !== null && a !== b && a.toLowerCase() === b.toLowerCase() && /([0-9a-f]\.){31}[0-9a-f]/i.test(a);
}

function judge(c: Case): void {
  expect(pyspfProblem, 'pyspf must be installed').toBeUndefined();
  const k = c.kagami!;
  const p = c.pyspf!;
  expect(p.result, `pyspf crashed: ${p.message}`).not.toBe('exception');
  if (agree(c)) return;
  const category = CATEGORIES.find((cat) => cat.applies(c));
  const context = `Kagami ${k.result} (${k.reason}) vs pyspf ${p.result} (${p.message})`;
  expect(category?.id, `unexplained difference: ${context}`).toBeDefined();
  expect(DIFFERENCES, `category ${category!.id} must be listed in spf-pyspf-differences.md`).toContain(`\`${category!.id}\``);
  expect(category!.rfcAnswer(c), `${category!.id}: Kagami must give the RFC answer; ${context}`).toContain(k.result);
}

describe('pyspf differential', () => {
  it('pyspf is installed and answered every case', () => {
    expect(pyspfProblem).toBeUndefined();
    expect(randomCases.length).toBe(RANDOM_CHECKS);
    expect(suiteCases.length).toBe(203);
    expect([...randomCases, ...suiteCases].every((c) => c.pyspf !== undefined && c.kagami !== undefined)).toBe(true);
  });

  it('agreement is reported and every difference is categorised', () => {
    const tally = (cases: Case[]) => {
      const agreeing = cases.filter(agree).length;
      const byCategory: Record<string, number> = {};
      for (const c of cases.filter((x) => !agree(x))) {
        const id = CATEGORIES.find((cat) => cat.applies(c))?.id ?? 'UNEXPLAINED';
        byCategory[id] = (byCategory[id] ?? 0) + 1;
      }
      return { cases: cases.length, agreeing, byCategory };
    };
    const summary = { random: tally(randomCases), suite: tally(suiteCases) };
    console.log(`pyspf differential: ${JSON.stringify(summary)}`);
    for (const c of [...randomCases, ...suiteCases].filter((x) => !agree(x))) {
      console.log(`  differs: ${c.name}: Kagami ${c.kagami!.result} (${c.kagami!.reason}) | pyspf ${c.pyspf!.result} (${c.pyspf!.message})`);
    }
    expect(summary.random.byCategory.UNEXPLAINED ?? 0).toBe(0);
    expect(summary.suite.byCategory.UNEXPLAINED ?? 0).toBe(0);
    // The generator must exercise the interesting paths, or agreement means little.
    const results = new Set(randomCases.map((c) => c.kagami!.result));
    for (const r of ['pass', 'fail', 'softfail', 'neutral', 'permerror', 'temperror']) expect(results, r).toContain(r);
  });

  describe('random policies', () => {
    for (let i = 0; i < RANDOM_CHECKS; i++) {
      const check = random.checks[i]!;
      it(`#${i} ${check.sender.split('@')[1]} from ${check.ip}`, () => judge(randomCases[i]!));
    }
  });

  describe('RFC 7208 suite zones', () => {
    for (const scenario of suite) {
      describe(scenario.description, () => {
        for (const t of scenario.tests) {
          it(t.name, () => judge(suiteCases.find((c) => c.suite === t)!));
        }
      });
    }
  });
});
