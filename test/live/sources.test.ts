/**
 * `kagami sources` and `kagami tls-reports` as an operator runs them (built CLI): corpus reports
 * imported into a fresh DATA, reverse DNS answered by a real zone server.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZoneServer, type ZoneServer } from '../support/dns-server.js';
import { kagamiCommand } from '../support/live.js';
import { tempDir } from '../support/server.js';

const CORPUS = '/work/shared/corpus';
const FILES = [
  'dmarc-aggregate/parsedmarc/protection.outlook.com!example.com!1711756800!1711843200.xml',
  'dmarc-aggregate/parsedmarc/rfc9990-example.net!example.com!1700000000!1700086399.xml',
  'tlsrpt/cry-inc/rfc-example.json',
].map((f) => path.join(CORPUS, f));

interface Source {
  ip: string;
  ptr: string | null;
  baseDomain: string | null;
  sender: string | null;
  class: string;
  messages: number;
  dmarcPass: number;
  spfAligned: number;
  dkimAligned: number;
  dispositions: { none: number; quarantine: number; reject: number };
}

async function json<T>(args: string[]): Promise<T> {
  const r = await kagamiCommand(args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}

describe('kagami sources / tls-reports (built CLI)', () => {
  const data = tempDir('kagami-sources-');
  let dns: ZoneServer;

  beforeAll(async () => {
    dns = await startZoneServer({
      '149.188.24.100.in-addr.arpa': { PTR: ['o1.sendgrid.net'] },
      '1.100.51.198.in-addr.arpa': { PTR: ['mail.example.com'] },
    });
    const r = await kagamiCommand(['reports', 'import', '--data', data, '--json', ...FILES]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ stored: 3 });
  });
  afterAll(async () => dns?.close());

  it('lists the sources of a domain with reverse DNS and the named sender', async () => {
    const out = await json<{ domain: string; since: string | null; until: string | null; sources: Source[] }>([
      'sources', '--domain', 'Example.com', '--data', data, '--json', '--dns', dns.address,
    ]);
    expect(Object.keys(out)).toEqual(['domain', 'since', 'until', 'sources']);
    expect(out).toMatchObject({ domain: 'example.com', since: null, until: null });
    expect(out.sources.map((s) => s.ip)).toEqual(['198.51.100.1', '203.0.113.10', '100.24.188.149']);
    const by = new Map(out.sources.map((s) => [s.ip, s]));
    expect(by.get('100.24.188.149')).toEqual({
      ip: '100.24.188.149', ptr: 'o1.sendgrid.net', baseDomain: 'sendgrid.net', sender: 'SendGrid', class: 'named',
      messages: 1, dmarcPass: 0, spfAligned: 0, dkimAligned: 0, dispositions: { none: 1, quarantine: 0, reject: 0 },
    });
    expect(by.get('198.51.100.1')).toMatchObject({ ptr: 'mail.example.com', baseDomain: 'example.com', sender: null, class: 'unknown', messages: 5, dmarcPass: 5 });
    expect(by.get('203.0.113.10')).toMatchObject({ ptr: null, class: 'unknown', dispositions: { none: 0, quarantine: 0, reject: 2 } });
    // Each address is asked once.
    const ptrQueries = dns.queries.filter((q) => q.type === 'PTR').map((q) => q.name.toLowerCase());
    expect(new Set(ptrQueries).size).toBe(ptrQueries.length);
  });

  it('filters by period and prints a table without --json', async () => {
    const late = await json<{ since: string; sources: Source[] }>(['sources', '--domain', 'example.com', '--data', data, '--json', '--dns', dns.address, '--since', '2024-01-01']);
    expect(late.since).toBe('2024-01-01T00:00:00.000Z');
    expect(late.sources.map((s) => s.ip)).toEqual(['100.24.188.149']);
    const r = await kagamiCommand(['sources', '--domain', 'example.com', '--data', data, '--dns', dns.address]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^SOURCE\s+MESSAGES/);
    expect(r.stdout).toMatch(/100\.24\.188\.149 .*named\s+SendGrid\s+o1\.sendgrid\.net/);
    const none = await kagamiCommand(['sources', '--domain', 'nothing.example', '--data', data, '--dns', dns.address]);
    expect(none.stdout).toContain('No aggregate report records for nothing.example.');
  });

  it('summarises the RFC 8460 example TLS report', async () => {
    const out = await json<Record<string, unknown>>(['tls-reports', '--domain', 'company-y.example', '--data', data, '--json']);
    expect(out).toEqual({
      domain: 'company-y.example',
      policies: [{ policyType: 'sts', policyDomain: 'company-y.example', successful: 5326, failed: 303 }],
      successful: 5326,
      failed: 303,
      failures: [
        { resultType: 'starttls-not-supported', receivingMx: 'mx2.mail.company-y.example', count: 200 },
        { resultType: 'certificate-expired', receivingMx: 'mx1.mail.company-y.example', count: 100 },
        { resultType: 'validation-failure', receivingMx: 'mx-backup.mail.company-y.example', count: 3 },
      ],
    });
    const r = await kagamiCommand(['tls-reports', '--domain', 'company-y.example', '--data', data]);
    expect(r.stdout).toContain('company-y.example: 5326 successful, 303 failed sessions');
  });
});
