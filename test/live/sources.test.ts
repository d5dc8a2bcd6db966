/**
 * `kagami sources` and `kagami tls-reports` as an operator runs them (built CLI): corpus reports
 * imported into a fresh DATA, reverse DNS answered by a real zone server.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZoneServer, type ZoneServer } from '../support/dns-server.js';
import { kagamiCommand, runKagami, type LiveKagami } from '../support/live.js';
import { kagamiQueue } from '../support/queue.js';
import { tempDir } from '../support/server.js';
import { openSession } from '../support/smtp.js';

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
  dkimPass: number;
  classReason: string;
  reason: string;
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
      'o1.sendgrid.net': { A: ['100.24.188.149'] },
      // No A record leads back: the name is shown, unconfirmed.
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
      dkimPass: 0, classReason: 'named-sender', reason: 'the PTR name o1.sendgrid.net belongs to SendGrid', ptrConfirmed: true,
    });
    expect(by.get('198.51.100.1')).toMatchObject({ ptr: 'mail.example.com', ptrConfirmed: false, baseDomain: 'example.com', sender: null, class: 'unknown', messages: 5, dmarcPass: 5 });
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

/** A hand-written aggregate report about example.test: one record per source address. */
function aggregateXml(rows: Array<{ ip: string; count: number; dkim: 'pass' | 'fail'; spf: 'pass' | 'fail'; disposition?: string }>): string {
  const records = rows
    .map(
      (r) => `  <record>
    <row><source_ip>${r.ip}</source_ip><count>${r.count}</count>
      <policy_evaluated><disposition>${r.disposition ?? 'none'}</disposition><dkim>${r.dkim}</dkim><spf>${r.spf}</spf></policy_evaluated></row>
    <identifiers><header_from>example.test</header_from></identifiers>
    <auth_results>
      <dkim><domain>example.test</domain><selector>k1</selector><result>${r.dkim}</result></dkim>
      <spf><domain>example.test</domain><scope>mfrom</scope><result>${r.spf}</result></spf>
    </auth_results>
  </record>`,
    )
    .join('\n');
  return `<?xml version="1.0"?>
<feedback>
  <report_metadata><org_name>receiver.example</org_name><email>dmarc@receiver.example</email><report_id>ours-1</report_id>
    <date_range><begin>1764547200</begin><end>1764633599</end></date_range></report_metadata>
  <policy_published><domain>example.test</domain><p>reject</p></policy_published>
${records}
</feedback>
`;
}

describe('kagami sources: "ours" from Kagami\'s own deliveries, PTR cache in the store (built CLI)', () => {
  const data = tempDir('kagami-sources-ours-');
  let dns: ZoneServer;
  let partner: SMTPServer;
  let kagami: LiveKagami | undefined;
  const received: Array<{ rcpt: string[]; remoteAddress: string }> = [];
  const zone = {
    'partner.example': { MX: [{ exchange: 'mx.partner.example', preference: 10 }] },
    'mx.partner.example': { A: ['127.0.0.1'] },
    '20.100.51.198.in-addr.arpa': { PTR: ['relay.partner.example'] },
    'relay.partner.example': { A: ['198.51.100.20'] },
    '44.2.0.192.in-addr.arpa': { PTR: ['mail-sor-f41.google.com'] },
    'mail-sor-f41.google.com': { A: ['192.0.2.44'] },
    '77.100.51.198.in-addr.arpa': { SERVFAIL: true },
  };
  const cli = (extra: string[] = []) => ['sources', '--domain', 'example.test', '--config', path.join(data, 'kagami.toml'), '--data', data, '--dns', dns.address, '--json', ...extra];
  const ptrQueries = () => dns.queries.filter((q) => q.type === 'PTR').map((q) => q.name.toLowerCase());

  beforeAll(async () => {
    dns = await startZoneServer(zone);
    // The outside world: a second SMTP listener on 127.0.0.1 that takes mail for partner.example.
    partner = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        stream.resume();
        stream.on('end', () => {
          received.push({ rcpt: session.envelope.rcptTo.map((r) => r.address), remoteAddress: session.remoteAddress });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
    const partnerPort = (partner.server.address() as { port: number }).port;
    writeFileSync(
      path.join(data, 'kagami.toml'),
      [
        'domains = ["example.test"]',
        '[delivery]',
        `remote_port = ${partnerPort}`,
        'timeout = 5',
        '[aliases]',
        '"fwd@example.test" = ["carol@partner.example"]',
        '[reports]',
        'own_ips = ["203.0.113.0/28", "2001:db8:5::/48"]',
        '[policy]',
        'trusted_forwarders = ["partner.example"]',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    kagami?.proc.kill('SIGKILL');
    await new Promise<void>((resolve) => partner?.close(() => resolve()));
    await dns?.close();
  });

  it('records the address it delivered an alias from, and classes it "ours" in a report', async () => {
    kagami = runKagami(['serve', '--config', path.join(data, 'kagami.toml'), '--data', data, '--smtp-port', '0', '--dns', dns.address, '--log-level', 'silent'], data);
    const ports = await kagami.ports;
    const c = await openSession(ports.smtp!);
    expect((await c.mailFrom('someone@example.org')).code).toBe(250);
    expect((await c.rcptTo('fwd@example.test')).code).toBe(250);
    expect((await c.data('From: someone@example.org\r\nTo: fwd@example.test\r\nSubject: passed on\r\n\r\nhello\r\n')).code).toBe(250);
    await c.quit();
    // Delivered to the partner; the worker records the source address before the outcome.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rcpt = (await kagamiQueue(data)).flatMap((m) => m.recipients).find((r) => r.address === 'fwd@example.test');
      if (rcpt?.state === 'delivered') break;
      if (Date.now() > deadline) throw new Error(`not delivered: ${JSON.stringify(rcpt)}\n${kagami.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(received).toEqual([{ rcpt: ['carol@partner.example'], remoteAddress: '127.0.0.1' }]);
    kagami.proc.kill('SIGTERM');
    expect((await kagami.exited).code).toBe(0);

    const report = path.join(data, 'report.xml');
    writeFileSync(
      report,
      aggregateXml([
        { ip: '127.0.0.1', count: 3, dkim: 'fail', spf: 'pass' },
        { ip: '203.0.113.5', count: 2, dkim: 'pass', spf: 'pass' },
        { ip: '198.51.100.20', count: 4, dkim: 'pass', spf: 'fail' },
        { ip: '192.0.2.44', count: 6, dkim: 'pass', spf: 'fail' },
        { ip: '198.51.100.77', count: 1, dkim: 'fail', spf: 'fail', disposition: 'reject' },
      ]),
    );
    const imported = await kagamiCommand(['reports', 'import', '--data', data, '--json', report]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ stored: 1 });

    const before = ptrQueries().length;
    const r = await kagamiCommand(cli());
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { sources: Source[] };
    const by = new Map(out.sources.map((s) => [s.ip, s]));
    expect(out.sources.map((s) => [s.ip, s.class, s.classReason])).toEqual([
      ['192.0.2.44', 'forwarder', 'known-forwarder'],
      ['198.51.100.20', 'forwarder', 'trusted-forwarder'],
      ['127.0.0.1', 'ours', 'kagami-sent'],
      ['203.0.113.5', 'ours', 'own-ip'],
      ['198.51.100.77', 'unknown', 'no-match'],
    ]);
    expect(by.get('127.0.0.1')).toMatchObject({ messages: 3, dmarcPass: 3, spfAligned: 3, dkimAligned: 0, sender: null });
    expect(by.get('192.0.2.44')).toMatchObject({ ptr: 'mail-sor-f41.google.com', baseDomain: 'google.com', sender: 'Google Workspace', dkimPass: 6 });
    expect(by.get('192.0.2.44')!.reason).toBe('DKIM passed for the domain but SPF never aligned, from Google (Gmail forwarding, Google Groups), a forwarding service');
    expect(by.get('198.51.100.20')).toMatchObject({ ptr: 'relay.partner.example', baseDomain: 'partner.example', reason: expect.stringContaining('partner.example') });
    // The first run asked each address once (the SERVFAIL one included).
    expect(ptrQueries().slice(before).sort()).toEqual(
      ['1.0.0.127.in-addr.arpa', '5.113.0.203.in-addr.arpa', '20.100.51.198.in-addr.arpa', '44.2.0.192.in-addr.arpa', '77.100.51.198.in-addr.arpa'].sort(),
    );
  });

  it('answers a second run from the stored PTR cache, asking again only what failed temporarily', async () => {
    const first = ptrQueries().length;
    const again = await kagamiCommand(cli());
    expect(again.code, again.stderr).toBe(0);
    expect(ptrQueries().slice(first)).toEqual(['77.100.51.198.in-addr.arpa']);
    const sources = (JSON.parse(again.stdout) as { sources: Source[] }).sources;
    expect(sources.find((s) => s.ip === '198.51.100.77')).toMatchObject({ ptr: null, class: 'unknown' });
    expect(sources.find((s) => s.ip === '192.0.2.44')).toMatchObject({ ptr: 'mail-sor-f41.google.com' });

    // The server recovers: the name is found, stored, and not asked for again.
    dns.setZone({ ...zone, '77.100.51.198.in-addr.arpa': { PTR: ['o7.sendgrid.net'] }, 'o7.sendgrid.net': { A: ['198.51.100.77'] } });
    const third = await kagamiCommand(cli());
    expect((JSON.parse(third.stdout) as { sources: Source[] }).sources.find((s) => s.ip === '198.51.100.77')).toMatchObject({ ptr: 'o7.sendgrid.net', class: 'named', sender: 'SendGrid' });
    const fourthFrom = ptrQueries().length;
    const fourth = await kagamiCommand(cli(['--until', '2030-01-01']));
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(ptrQueries().slice(fourthFrom)).toEqual([]);
  });

  it('prints why in the table', async () => {
    const r = await kagamiCommand(cli().filter((a) => a !== '--json'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^SOURCE\s+MESSAGES.*\s+WHY\n/);
    expect(r.stdout).toMatch(/127\.0\.0\.1 .*ours\s+-\s+\S+\s+kagami-sent\n/);
  });
});
