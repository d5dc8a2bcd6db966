/**
 * The three ways in (issue #5) give identical rows: the same report mails — a gzipped aggregate
 * report, a zipped one, a TLS report, a DMARC failure report (ARF) and one about a foreign domain —
 * are (1) sent by swaks to dmarc@ at Kagami's MX, (2) put in a real Dovecot mailbox that the IMAP
 * poller reads, and (3) imported as .eml files. Each way fills its own store; every stored row
 * (report, records, TLS policies and failures, failure-report row) must be the same, apart from
 * when and how it arrived.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/log.js';
import { importPaths } from '../../src/reports/ingest/files.js';
import { createImapPoller } from '../../src/reports/ingest/imap.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { reportMail, startImapMailbox, type ImapMailbox } from '../support/report-mailbox.js';
import { startTestServer, tempDir, type TestServer } from '../support/server.js';

const CORPUS = new URL('../../../shared/corpus/', import.meta.url).pathname;
const AGGREGATE = path.join(CORPUS, 'dmarc-aggregate', 'dmarcgo', 'receiver.example!example.test!1782172800!1782259199!synthetic.xml');
const FOREIGN = path.join(CORPUS, 'dmarc-aggregate', 'cry-inc', 'google.xml');
const ZIPPED = path.join(CORPUS, 'dmarc-aggregate', 'stalwart-mail-auth', '100.eml'); // application/zip, about stalw.art
const TLSRPT = path.join(CORPUS, 'tlsrpt', 'cry-inc', 'rfc-example.json');
const FAILURE = path.join(CORPUS, 'dmarc-forensic', 'stalwart-mail-auth', '004.eml'); // OpenDMARC ARF

const DOMAINS = ['example.test', 'stalw.art', 'interpublication.org'];
const USER = 'reports@example.test';
const PASSWORD = 'three ways password';

const mail = (id: string, attachment: Buffer, filename: string, type: string) =>
  reportMail({ id, to: 'dmarc@example.test', subject: `Report ${id}`, attachment, filename, type });

/** The report mails, CRLF throughout so SMTP, IMAP and a file carry the same bytes. */
function reportMails(): Array<{ name: string; bytes: Buffer }> {
  const crlf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
  const tls = JSON.parse(readFileSync(TLSRPT, 'utf8')) as { policies: Array<{ policy: { 'policy-domain': string } }> };
  tls.policies[0]!.policy['policy-domain'] = 'example.test';
  return [
    { name: 'aggregate.eml', bytes: mail('agg', gzipSync(readFileSync(AGGREGATE)), 'ours.xml.gz', 'application/gzip') },
    { name: 'zipped.eml', bytes: crlf(readFileSync(ZIPPED)) },
    { name: 'tls.eml', bytes: mail('tls', Buffer.from(JSON.stringify(tls)), 'tls.json', 'application/tlsrpt+json') },
    { name: 'failure.eml', bytes: crlf(readFileSync(FAILURE)) },
    { name: 'foreign.eml', bytes: mail('foreign', gzipSync(readFileSync(FOREIGN)), 'foreign.xml.gz', 'application/gzip') },
  ];
}

/** Everything stored about every report, without when and how it arrived. */
async function snapshot(store: Store): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const summary of await store.listReports({ limit: 10_000 })) {
    const r = await store.getReport(summary.id);
    const { receivedAt: _at, source: _source, ...rest } = r!;
    out.push(rest);
  }
  return out.sort((a, b) => ((a as { id: string }).id < (b as { id: string }).id ? -1 : 1));
}

function swaks(port: number, file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/swaks', ['--server', `127.0.0.1:${port}`, '--from', 'noreply-dmarc@receiver.example', '--to', 'dmarc@example.test', '--data', file]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

let server: TestServer | undefined;
let mailbox: ImapMailbox | undefined;
const stores: Store[] = [];
const mails = reportMails();
const dir = tempDir('kagami-three-ways-');
for (const m of mails) writeFileSync(path.join(dir, m.name), m.bytes);

function openStore(file: string): Store {
  const s = openSqliteStore({ file });
  stores.push(s);
  return s;
}

beforeAll(() => {
  if (!existsSync('/usr/bin/swaks')) throw new Error('swaks is missing: apt-get install swaks');
});

afterAll(async () => {
  for (const s of stores) await s.close();
  await server?.stop();
  await mailbox?.close();
});

describe('report intake: MX, IMAP and files give identical rows', () => {
  it('stores the same reports, records and failure rows whichever way they come', async () => {
    // (1) The MX: swaks sends each mail to dmarc@; the route "reports" reads it into the store.
    server = await startTestServer({ domains: DOMAINS });
    for (const m of mails) expect(await swaks(server.smtpPort, path.join(dir, m.name))).toMatch(/<[~-]  250 2\.0\.0 Ok: queued as/);
    const viaMx = openStore(path.join(server.dataDir, 'kagami.db'));
    const deadline = Date.now() + 15_000;
    while ((await viaMx.listReports()).length + (await viaMx.listRejectedInputs()).length < mails.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }

    // (2) IMAP: the same bytes appended to a Dovecot mailbox, read by the poller.
    mailbox = await startImapMailbox(USER, PASSWORD);
    const c = mailbox.client();
    await c.connect();
    try {
      for (const m of mails) await c.append('INBOX', m.bytes);
    } finally {
      await c.logout();
    }
    const imapData = tempDir('kagami-three-ways-imap-');
    const passwordFile = path.join(imapData, 'imap.password');
    writeFileSync(passwordFile, PASSWORD + '\n', { mode: 0o600 });
    const config = validateConfig({
      data_dir: imapData,
      domains: DOMAINS,
      reports: { imap: { host: '127.0.0.1', port: mailbox.port, tls: 'none', user: USER, password_file: passwordFile } },
    });
    const viaImap = openStore(path.join(imapData, 'kagami.db'));
    await viaImap.migrate();
    const ours = (d: string) => DOMAINS.some((x) => d.toLowerCase() === x || d.toLowerCase().endsWith(`.${x}`));
    const poll = await createImapPoller({ config: config.reports.imap!, store: viaImap, acceptDomain: ours, log: createLogger('silent') }).pollOnce();
    expect(poll).toEqual({ fetched: 5, stored: 4, duplicates: 0, rejected: 1 });

    // (3) Files: the same .eml files imported (a file import takes any domain, so the foreign
    // report is stored there; it is compared apart).
    const viaFiles = openStore(path.join(tempDir('kagami-three-ways-files-'), 'kagami.db'));
    await viaFiles.migrate();
    const imported = await importPaths([dir], { store: viaFiles });
    expect({ stored: imported.stored, rejected: imported.rejected }).toEqual({ stored: 5, rejected: [] });

    const mx = await snapshot(viaMx);
    const imap = await snapshot(viaImap);
    const files = (await snapshot(viaFiles)).filter((r) => (r as { domain: string }).domain !== 'foo-bar.io');
    expect(mx.map((r) => (r as { kind: string }).kind).sort()).toEqual(['aggregate', 'aggregate', 'failure', 'tls']);
    expect(imap).toEqual(mx);
    expect(files).toEqual(mx);
    // The foreign report: refused at the MX and over IMAP with the same code.
    for (const s of [viaMx, viaImap]) expect((await s.listRejectedInputs()).map((r) => r.code)).toEqual(['KGM-REPORT-FOREIGN']);
    expect((await viaMx.listReports()).every((r) => r.source === 'mail')).toBe(true);
    expect((await viaImap.listReports()).every((r) => r.source === 'imap')).toBe(true);
    expect((await viaFiles.listReports()).every((r) => r.source === 'file')).toBe(true);
  }, 60_000);
});
