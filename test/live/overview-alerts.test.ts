/**
 * `kagami overview` and `kagami alerts` as an operator runs them (built CLI): corpus reports and
 * reports written for the last days imported into a fresh DATA, reverse DNS from a zone server.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/analysis/alerts.js';
import type { DomainOverview } from '../../src/analysis/overview.js';
import { aggregateXml } from '../support/aggregate-xml.js';
import { startZoneServer, type ZoneServer } from '../support/dns-server.js';
import { kagamiCommand } from '../support/live.js';
import { tempDir } from '../support/server.js';

const CORPUS = '/work/shared/corpus';
const FILES = [
  'dmarc-aggregate/parsedmarc/protection.outlook.com!example.com!1711756800!1711843200.xml',
  'dmarc-aggregate/parsedmarc/rfc9990-example.net!example.com!1700000000!1700086399.xml',
].map((f) => path.join(CORPUS, f));
const DAY = 86_400;

async function json<T>(args: string[]): Promise<T> {
  const r = await kagamiCommand(args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('kagami overview / alerts (built CLI)', () => {
  const data = tempDir('kagami-overview-');
  const configFile = path.join(data, 'kagami.toml');
  let dns: ZoneServer;
  const today = Math.floor(Date.now() / 1000 / DAY) * DAY;

  beforeAll(async () => {
    dns = await startZoneServer({ '149.188.24.100.in-addr.arpa': { PTR: ['o1.sendgrid.net'] }, 'o1.sendgrid.net': { A: ['100.24.188.149'] } });
    writeFileSync(configFile, `domains = ["example.com", "shop.example"]\n`);
    // shop.example: a week of quiet reports from 192.0.2.1, then yesterday a new unknown source.
    const files: string[] = [];
    for (let d = 8; d >= 1; d--) {
      const begin = today - d * DAY;
      const records = [{ ip: '192.0.2.1', count: 50, dkim: 'pass' as const, spf: 'pass' as const }];
      if (d === 1) records.push({ ip: '203.0.113.66', count: 25, dkim: 'fail', spf: 'fail' } as never);
      const f = path.join(data, `shop-${d}.xml`);
      writeFileSync(f, aggregateXml({ org: 'receiver.example', reportId: `shop-${d}`, domain: 'shop.example', begin, end: begin + DAY - 1, records }));
      files.push(f);
    }
    const r = await kagamiCommand(['reports', 'import', '--data', data, '--json', ...FILES, ...files]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ stored: 10, rejected: [] });
  });
  afterAll(async () => dns?.close());

  it('overview --json: volume, pass rate per day, classes, blocked mail and reporters of a corpus domain', async () => {
    const o = await json<DomainOverview>(['overview', '--domain', 'example.com', '--data', data, '--dns', dns.address, '--json']);
    expect(Object.keys(o)).toEqual(['domain', 'since', 'until', 'generatedAt', 'reports', 'messages', 'dmarcPass', 'passRate', 'passRateByDay', 'classes', 'dispositions', 'blocked', 'reporters', 'failures']);
    expect(o).toMatchObject({ domain: 'example.com', since: null, until: null, reports: 2, messages: 8, dmarcPass: 5, passRate: 0.625 });
    expect(o.passRateByDay).toEqual([
      { day: '2023-11-14', messages: 7, dmarcPass: 5, passRate: 0.7143 },
      { day: '2024-03-30', messages: 1, dmarcPass: 0, passRate: 0 },
    ]);
    expect(o.classes.named).toEqual({ sources: 1, messages: 1, dmarcPass: 0 });
    expect(o.classes.unknown).toEqual({ sources: 2, messages: 7, dmarcPass: 5 });
    expect(o.dispositions).toEqual({ none: 6, quarantine: 0, reject: 2 });
    expect(o.blocked).toEqual([{ ip: '203.0.113.10', ptr: null, sender: null, class: 'unknown', messages: 2, quarantine: 0, reject: 2, legitimate: false, reasons: [] }]);
    expect(o.reporters.map((r) => [r.org, r.email, r.reports, r.lastPeriodEnd])).toEqual([
      ['Outlook.com', 'dmarcreport@microsoft.com', 1, '2024-03-31T00:00:00.000Z'],
      ['example.net', 'postmaster@example.net', 1, '2023-11-15T22:13:19.000Z'],
    ]);
    expect(o.failures).toEqual({ reports: 0, sources: [], latest: [] });
  });

  it('overview without --json prints tables; --since narrows the period', async () => {
    const r = await kagamiCommand(['overview', '--domain', 'example.com', '--data', data, '--dns', dns.address]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('example.com: 8 messages in 2 reports, DMARC pass 5 (62.5%)');
    expect(r.stdout).toMatch(/^2023-11-14\s+7\s+5\s+71\.4%$/m);
    expect(r.stdout).toMatch(/^203\.0\.113\.10\s+0\s+2\s+unknown\s+no sign/m);
    const late = await json<DomainOverview>(['overview', '--domain', 'example.com', '--data', data, '--dns', dns.address, '--json', '--since', '2024-01-01']);
    expect(late).toMatchObject({ since: '2024-01-01T00:00:00.000Z', reports: 1, messages: 1 });
    const none = await kagamiCommand(['overview', '--domain', 'nothing.example', '--data', data, '--dns', dns.address]);
    expect(none.stdout).toBe('No aggregate reports for nothing.example.\n');
    const bad = await kagamiCommand(['overview', '--data', data]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("required option '--domain <name>'");
  });

  it('alerts --json covers every domain of ours and finds the new unknown source', async () => {
    const out = await json<{ generatedAt: string; domains: string[]; alerts: Alert[] }>(['alerts', '--config', configFile, '--data', data, '--dns', dns.address, '--json']);
    expect(out.domains).toEqual(['example.com', 'shop.example']);
    expect(out.alerts).toEqual([
      {
        id: 'new-unknown-source:shop.example:203.0.113.66',
        kind: 'new-unknown-source',
        domain: 'shop.example',
        severity: 'critical',
        message: expect.stringContaining('new unknown source 203.0.113.66 sent 25 messages as shop.example') as unknown as string,
        figures: expect.objectContaining({ ip: '203.0.113.66', messages: 25, dmarcPass: 0 }) as unknown as Alert['figures'],
        action: expect.any(String) as unknown as string,
      },
    ]);
    // The corpus domain's reports are years old: outside every window, nothing to say.
    const corpus = await json<{ domains: string[]; alerts: Alert[] }>(['alerts', '--domain', 'example.com', '--data', data, '--dns', dns.address, '--json']);
    expect(corpus).toMatchObject({ domains: ['example.com'], alerts: [] });
    const table = await kagamiCommand(['alerts', '--config', configFile, '--data', data, '--dns', dns.address]);
    expect(table.stdout).toMatch(/^critical\s+new-unknown-source\s+shop\.example\s+new unknown source 203\.0\.113\.66/m);
    const strict = path.join(data, 'strict.toml');
    writeFileSync(strict, `domains = ["shop.example"]\n[alerts]\nnew_source_messages = 26\n`);
    expect(await json<{ alerts: Alert[] }>(['alerts', '--config', strict, '--data', data, '--dns', dns.address, '--json'])).toMatchObject({ alerts: [] });
    const wrong = path.join(data, 'wrong.toml');
    writeFileSync(wrong, `[alerts]\nnew_source_messages = "many"\n`);
    const r = await kagamiCommand(['alerts', '--config', wrong, '--data', data, '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KGM-CONFIG/);
  });
});
