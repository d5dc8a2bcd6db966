/**
 * Reports read from an IMAP mailbox (issue #5): a real Dovecot holds three report mails, appended
 * with imapflow; one poll imports the two about our domain (source "imap"), refuses the one about a
 * foreign domain with KGM-REPORT-FOREIGN, and flags all three \Seen, so the next poll reads nothing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/log.js';
import { createImapPoller, type ImapIntakeConfig } from '../../src/reports/ingest/imap.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/types.js';
import { reportMail as mailOf, startImapMailbox, type ImapMailbox } from '../support/report-mailbox.js';
import { startTestServer, tempDir } from '../support/server.js';

const CORPUS = new URL('../../../shared/corpus/', import.meta.url).pathname;
const OURS = path.join(CORPUS, 'dmarc-aggregate', 'dmarcgo', 'receiver.example!example.test!1782172800!1782259199!synthetic.xml');
const FOREIGN = path.join(CORPUS, 'dmarc-aggregate', 'cry-inc', 'google.xml');
const TLSRPT = path.join(CORPUS, 'tlsrpt', 'cry-inc', 'rfc-example.json');

const USER = 'reports@example.test';
const PASSWORD = 'imap test password';

const reportMail = (id: string, subject: string, attachment: Buffer, filename: string, type: string) =>
  mailOf({ id, to: USER, subject, attachment, filename, type });

let mailbox: ImapMailbox | undefined;
let store: Store | undefined;
let imapConfig: ImapIntakeConfig;

const client = () => mailbox!.client();

beforeAll(async () => {
  mailbox = await startImapMailbox(USER, PASSWORD);

  const tls = JSON.parse(readFileSync(TLSRPT, 'utf8')) as { policies: Array<{ policy: { 'policy-domain': string } }> };
  tls.policies[0]!.policy['policy-domain'] = 'example.test';
  const c = client();
  await c.connect();
  try {
    const ours = readFileSync(OURS);
    await c.append('INBOX', reportMail('agg', 'Report domain: example.test', gzipSync(ours), 'ours.xml.gz', 'application/gzip'));
    await c.append('INBOX', reportMail('tls', 'Report Domain: example.test', Buffer.from(JSON.stringify(tls)), 'tls.json', 'application/tlsrpt+json'));
    await c.append('INBOX', reportMail('foreign', 'Report domain: foo-bar.io', gzipSync(readFileSync(FOREIGN)), 'foreign.xml.gz', 'application/gzip'));
  } finally {
    await c.logout();
  }

  const dataDir = tempDir('kagami-imap-data-');
  const passwordFile = path.join(dataDir, 'imap.password');
  writeFileSync(passwordFile, PASSWORD + '\n', { mode: 0o600 });
  // Through the schema, so its defaults (folder, interval, ...) are the ones exercised.
  const config = validateConfig({
    data_dir: dataDir,
    domains: ['example.test'],
    reports: { imap: { host: '127.0.0.1', port: mailbox.port, tls: 'none', user: USER, password_file: passwordFile, interval: 3600 } },
  });
  imapConfig = config.reports.imap!;
  store = openSqliteStore({ file: path.join(dataDir, 'kagami.db') });
  await store.migrate();
}, 30_000);

afterAll(async () => {
  await store?.close();
  await mailbox?.close();
});

describe('reports read from an IMAP mailbox (reports.imap)', () => {
  it('imports ours, refuses the foreign one, flags all \\Seen, and reads nothing new next time', async () => {
    expect(imapConfig).toMatchObject({ folder: 'INBOX', reject_unauthorized: true });
    const log = createLogger('silent');
    const isOurs = (d: string) => d.toLowerCase() === 'example.test' || d.toLowerCase().endsWith('.example.test');
    const poller = createImapPoller({ config: imapConfig, store: store!, acceptDomain: isOurs, log });

    expect(await poller.pollOnce()).toEqual({ fetched: 3, stored: 2, duplicates: 0, rejected: 1 });

    const reports = await store!.listReports({ domain: 'example.test' });
    expect(reports).toHaveLength(2);
    expect(reports.map((r) => r.source)).toEqual(['imap', 'imap']);
    expect(reports.map((r) => r.kind).sort()).toEqual(['aggregate', 'tls']);
    expect(reports.map((r) => r.reportId).sort()).toEqual(['5065427c-23d3-47ca-b6e0-946ea0e8c4be', 'synthetic-newcomer-report']);
    const rejected = await store!.listRejectedInputs();
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({ code: 'KGM-REPORT-FOREIGN', source: 'imap' });
    expect(rejected[0]!.reason).toMatch(/foo-bar\.io/);
    expect(await store!.listReports({ domain: 'foo-bar.io' })).toEqual([]);

    const c = client();
    await c.connect();
    try {
      const lock = await c.getMailboxLock('INBOX');
      try {
        const all = await c.fetchAll('1:*', { flags: true, uid: true });
        expect(all).toHaveLength(3);
        for (const m of all) expect([...(m.flags ?? [])]).toContain('\\Seen');
      } finally {
        lock.release();
      }
    } finally {
      await c.logout();
    }

    expect(await poller.pollOnce()).toEqual({ fetched: 0, stored: 0, duplicates: 0, rejected: 0 });
    expect(await store!.listReports({ domain: 'example.test' })).toHaveLength(2);
  });

  it('logs a failed poll with KGM-REPORT-IMAP and keeps running', async () => {
    const lines: string[] = [];
    const sink = { write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WritableStream;
    const log = createLogger('info', sink);
    const poller = createImapPoller({ config: { ...imapConfig, user: 'nobody@example.test' }, store: store!, acceptDomain: () => true, log });
    poller.start();
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l.includes('KGM-REPORT-IMAP')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await poller.stop();
    const line = lines.find((l) => l.includes('KGM-REPORT-IMAP'));
    expect(line).toBeDefined();
    expect(line).not.toContain(PASSWORD);
  });

  it('is polled by `kagami serve` when reports.imap is set, with move_to', async () => {
    const c = client();
    await c.connect();
    try {
      await c.mailboxCreate('Processed');
      const foreign = readFileSync(FOREIGN, 'utf8').replace(/foo-bar\.io/g, 'example.test').replace(/<report_id>[^<]*</, '<report_id>served-by-imap<');
      await c.append('INBOX', reportMail('served', 'Report domain: example.test', gzipSync(foreign), 'served.xml.gz', 'application/gzip'));
    } finally {
      await c.logout();
    }
    const t = await startTestServer({ reports: { imap: { ...imapConfig, move_to: 'Processed' } } });
    try {
      const s = openSqliteStore({ file: path.join(t.dataDir, 'kagami.db') });
      try {
        const deadline = Date.now() + 10_000;
        let found;
        while (!(found = (await s.listReports({ domain: 'example.test' })).find((r) => r.reportId === 'served-by-imap')) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(found).toMatchObject({ source: 'imap', kind: 'aggregate' });
      } finally {
        await s.close();
      }
    } finally {
      await t.stop();
    }
    const v = client();
    await v.connect();
    try {
      expect(await v.status('INBOX', { messages: true })).toMatchObject({ messages: 3 });
      expect(await v.status('Processed', { messages: true })).toMatchObject({ messages: 1 });
    } finally {
      await v.logout();
    }
  });
});
