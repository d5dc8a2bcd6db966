/**
 * `kagami demo --once --json` as a new user runs it (the built command): every scenario ends as
 * it should, the spoof of the p=reject domain is refused naming the domain, quarantined mail is
 * in Junk with its Kagami-Quarantine field, and a temporary data directory is gone afterwards.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { kagamiCommand } from '../support/live.js';
import { tempDir } from '../support/server.js';

interface DemoJson {
  dataDir: string;
  smtpPort: number;
  httpPort: number;
  scenarios: Array<{ name: string; expected: string; outcome: string; reply: string; dmarc: string | null; reason: string | null; file: string | null }>;
}

async function demo(args: string[]): Promise<{ code: number | null; report: DemoJson; stderr: string }> {
  const r = await kagamiCommand(['demo', '--once', '--json', ...args]);
  let report: DemoJson;
  try {
    report = JSON.parse(r.stdout) as DemoJson;
  } catch {
    throw new Error(`kagami demo printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, report, stderr: r.stderr };
}

describe('kagami demo --once --json', () => {
  it('ends every scenario as expected, keeping --data DIR for a look afterwards', async () => {
    const dataDir = tempDir('kagami-demo-test-');
    const started = Date.now();
    const { code, report, stderr } = await demo(['--data', dataDir]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(report.dataDir).toBe(dataDir);
    expect(report.smtpPort).toBeGreaterThan(0);
    expect(report.httpPort).toBeGreaterThan(0);

    const wrong = report.scenarios.filter((s) => s.outcome !== s.expected).map((s) => `${s.name}: ${s.outcome} (expected ${s.expected}) ${s.reply}`);
    expect(wrong).toEqual([]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // The demo shows each outcome at least once.
    expect(new Set(report.scenarios.map((s) => s.expected))).toEqual(new Set(['delivered', 'quarantined', 'rejected', 'tempfailed']));

    const spoof = report.scenarios.find((s) => s.name === 'bank-spoofed')!;
    expect(spoof.reply).toMatch(/^550 5\.7\.1 DMARC policy of bank\.example is reject: /);
    expect(spoof.dmarc).toBe('fail');
    expect(spoof.file).toBeNull();

    for (const s of report.scenarios) {
      expect(s.dmarc, `${s.name} has a verdict row`).not.toBeNull();
      expect(s.reason, `${s.name} has a reason`).toBeTruthy();
      if (s.outcome === 'delivered') expect(path.basename(path.dirname(path.dirname(s.file!)))).toBe('alice');
      if (s.outcome === 'quarantined') {
        expect(path.dirname(path.dirname(s.file!))).toBe(path.join(dataDir, 'mail', 'demo.test', 'alice', '.Junk'));
        expect(readFileSync(s.file!, 'latin1')).toMatch(/^Kagami-Quarantine: /m);
      }
      if (s.outcome === 'rejected' || s.outcome === 'tempfailed') expect(s.file).toBeNull();
    }
    expect(report.scenarios.find((s) => s.name === 'flaky-dns')!.reply).toMatch(/^451 /);
    expect(existsSync(path.join(dataDir, 'kagami.db'))).toBe(true);
  });

  it('removes its temporary data directory when it stops', async () => {
    const { report } = await demo([]);
    expect(report.scenarios.length).toBeGreaterThan(0);
    expect(existsSync(report.dataDir)).toBe(false);
  });
});
