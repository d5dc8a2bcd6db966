/**
 * Reports arriving at our own MX: swaks mails a gzipped aggregate report to dmarc@ of one of our
 * domains; the report is read into the store (source "mail") instead of a mailbox. A report about
 * a domain that is not ours is refused with its code and stored nowhere.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { listMail, startTestServer, type TestServer } from '../support/server.js';

const CORPUS = new URL('../../../shared/corpus/dmarc-aggregate/', import.meta.url).pathname;
const OURS = path.join(CORPUS, 'dmarcgo', 'receiver.example!example.test!1782172800!1782259199!synthetic.xml');
const FOREIGN = path.join(CORPUS, 'cry-inc', 'google.xml');

let t: TestServer;
beforeAll(async () => {
  if (!existsSync('/usr/bin/swaks')) throw new Error('swaks is missing: apt-get install swaks');
  t = await startTestServer({ domains: ['example.test'] });
});
afterAll(async () => t?.stop());

function mailReport(xmlFile: string, to: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kagami-report-'));
  const gz = path.join(dir, `${path.basename(xmlFile)}.gz`);
  writeFileSync(gz, gzipSync(readFileSync(xmlFile)));
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/swaks', [
      '--server', `127.0.0.1:${t.smtpPort}`, '--from', 'noreply-dmarc@receiver.example', '--to', to,
      '--header', 'Subject: Report domain: example.test', '--attach-type', 'application/gzip', '--attach', gz,
    ]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => resolve(out));
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function withStore<T>(work: (s: ReturnType<typeof openSqliteStore>) => Promise<T>): Promise<T> {
  const store = openSqliteStore({ file: path.join(t.dataDir, 'kagami.db') });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

describe('reports mailed to dmarc@ of our domain', () => {
  it('are read into the report store, not delivered to a mailbox', async () => {
    expect(await mailReport(OURS, 'dmarc@example.test')).toMatch(/<[~-]  250 2\.0\.0 Ok: queued as/);
    const report = await waitFor(
      () => withStore(async (s) => (await s.listReports({ domain: 'example.test' })).find((r) => r.reportId === 'synthetic-newcomer-report')),
      'the report in the store',
    );
    expect(report).toMatchObject({ kind: 'aggregate', domain: 'example.test', source: 'mail' });
    expect(await listMail(t.newDir('dmarc@example.test'))).toEqual([]);
  });

  it('refuse a report about a domain that is not ours, with its code', async () => {
    expect(await mailReport(FOREIGN, 'dmarc@example.test')).toMatch(/<[~-]  250 /);
    const rejected = await waitFor(
      () => withStore(async (s) => (await s.listRejectedInputs()).find((r) => r.code === 'KGM-REPORT-FOREIGN')),
      'the refusal',
    );
    expect(rejected.reason).toMatch(/foo-bar\.io/);
    expect(await withStore((s) => s.listReports({ domain: 'foo-bar.io' }))).toEqual([]);
  });
});
