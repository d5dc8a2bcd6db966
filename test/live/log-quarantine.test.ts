/**
 * `kagami log` and `kagami quarantine` as an operator runs them, on a data directory prepared
 * through the store (as the MX would fill it) and Maildir files tagged as the worker writes them.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { newQueueId } from '../../src/core/ids.js';
import { deliveryTag } from '../../src/delivery/maildir.js';
import { dataPaths } from '../../src/main.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { NewMessage, NewRecipient, Store, VerdictRow } from '../../src/store/types.js';
import { kagamiCommand } from '../support/live.js';
import { tempDir } from '../support/server.js';

const HOUR = 3_600_000;

async function withStore<T>(dataDir: string, use: (store: Store) => Promise<T>): Promise<T> {
  const store = openSqliteStore({ file: dataPaths(dataDir).db });
  try {
    await store.migrate();
    return await use(store);
  } finally {
    await store.close();
  }
}

function verdict(over: Partial<VerdictRow> & Pick<VerdictRow, 'id' | 'at' | 'fromDomain' | 'action' | 'detail'>): VerdictRow {
  return {
    queueId: over.id,
    clientIp: '198.51.100.7',
    ptr: 'mx.sender.example',
    helo: 'mx.sender.example',
    mailFrom: `bounce@${over.fromDomain}`,
    headerFrom: `news@${over.fromDomain}`,
    recipients: ['alice@example.test'],
    spfResult: 'fail',
    dkimResult: 'none',
    arcResult: 'none',
    dmarcResult: 'fail',
    ...over,
  };
}

/** A quarantined message as the MX enqueues it, every recipient in its Junk folder. */
function held(id: string, at: number, recipients: NewRecipient[], subject: string): NewMessage {
  return {
    id,
    receivedAt: at,
    mailFrom: 'bounce@phish.example',
    size: 100,
    clientIp: '203.0.113.9',
    helo: 'mx.phish.example',
    traceHeaders: '',
    recipients,
    quarantine: { reason: 'DMARC policy of phish.example is quarantine', headerFrom: 'ceo@phish.example', fromDomain: 'phish.example', subject },
  };
}

const junk = (address: string): NewRecipient => {
  const [user, domain] = address.split('@') as [string, string];
  return { address, route: 'maildir', mailbox: `${domain}/${user}`, folder: 'Junk' };
};

function message(subject: string, bodyLines: number): string {
  const body = Array.from({ length: bodyLines }, (_, i) => `body line ${i + 1}`).join('\r\n');
  return `Return-Path: <bounce@phish.example>\r\nFrom: ceo@phish.example\r\nTo: alice@example.test\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;
}

/** Writes the message into DATA/mail/<mailbox>/.Junk/<sub>/ under a name carrying the delivery tag. */
function putInJunk(dataDir: string, mailbox: string, queueId: string, idx: number, text: string, sub: 'new' | 'cur' = 'new'): string {
  const dir = path.join(dataPaths(dataDir).mail, mailbox, '.Junk');
  for (const s of ['tmp', 'new', 'cur']) mkdirSync(path.join(dir, s), { recursive: true });
  const name = `1764864936.M237000P4242${deliveryTag(queueId, idx)}.mx.localhost.test,S=${text.length}${sub === 'cur' ? ':2,S' : ''}`;
  writeFileSync(path.join(dir, sub, name), text);
  return name;
}

const ls = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

describe('kagami log', () => {
  const dataDir = tempDir('kagami-log-');
  const now = Date.now();
  const ids = { recent: 'V1RECENT', hoursAgo: 'V2HOURS', daysAgo: 'V3DAYS' };

  beforeAll(async () => {
    await withStore(dataDir, (store) =>
      store.recordVerdicts([
        verdict({ id: ids.recent, at: now - 10 * 60_000, fromDomain: 'shop.example', action: 'deliver', dmarcResult: 'pass', detail: { dmarc: { reason: 'aligned DKIM pass for shop.example' } } }),
        verdict({ id: ids.hoursAgo, at: now - 2 * HOUR, fromDomain: 'phish.example', action: 'quarantine', detail: { dmarc: { reason: 'no aligned pass' }, policy: { reason: 'DMARC policy of phish.example is quarantine' } } }),
        verdict({ id: ids.daysAgo, at: now - 3 * 24 * HOUR, fromDomain: 'phish.example', action: 'reject', detail: { policy: { reason: 'DMARC policy of phish.example is reject' } } }),
      ]),
    );
  });

  async function logIds(...args: string[]): Promise<string[]> {
    const r = await kagamiCommand(['log', '--json', '--data', dataDir, ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as { verdicts: { id: string }[] }).verdicts.map((v) => v.id);
  }

  it('prints every verdict newest first as JSON, with the summary results and the stored detail', async () => {
    const r = await kagamiCommand(['log', '--json', '--data', dataDir]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { verdicts: Record<string, unknown>[] };
    expect(out.verdicts.map((v) => v.id)).toEqual([ids.recent, ids.hoursAgo, ids.daysAgo]);
    expect(out.verdicts[1]).toEqual({
      id: ids.hoursAgo,
      queueId: ids.hoursAgo,
      at: new Date(now - 2 * HOUR).toISOString(),
      clientIp: '198.51.100.7',
      ptr: 'mx.sender.example',
      helo: 'mx.sender.example',
      mailFrom: 'bounce@phish.example',
      headerFrom: 'news@phish.example',
      fromDomain: 'phish.example',
      recipients: ['alice@example.test'],
      spf: 'fail',
      dkim: 'none',
      arc: 'none',
      dmarc: 'fail',
      action: 'quarantine',
      detail: { dmarc: { reason: 'no aligned pass' }, policy: { reason: 'DMARC policy of phish.example is quarantine' } },
    });
  });

  it('filters by From domain, action, --since/--until (relative and ISO 8601) and --limit', async () => {
    expect(await logIds('--domain', 'phish.example')).toEqual([ids.hoursAgo, ids.daysAgo]);
    expect(await logIds('--domain', 'Shop.Example.')).toEqual([ids.recent]);
    expect(await logIds('--action', 'reject')).toEqual([ids.daysAgo]);
    expect(await logIds('--since', '1h')).toEqual([ids.recent]);
    expect(await logIds('--since', '7d', '--until', '1h')).toEqual([ids.hoursAgo, ids.daysAgo]);
    expect(await logIds('--since', new Date(now - 24 * HOUR).toISOString())).toEqual([ids.recent, ids.hoursAgo]);
    const noOffset = new Date(now - 24 * HOUR).toISOString().replace(/\.\d{3}Z$/, ''); // UTC when no offset
    expect(await logIds('--until', noOffset)).toEqual([ids.daysAgo]);
    expect(await logIds('--domain', 'phish.example', '--action', 'quarantine', '--since', '1d')).toEqual([ids.hoursAgo]);
    expect(await logIds('--limit', '1')).toEqual([ids.recent]);
    expect(await logIds('--domain', 'nobody.example')).toEqual([]);
  });

  it('prints a table: time, action, from domain, DMARC result, IP and the reason', async () => {
    const r = await kagamiCommand(['log', '--data', dataDir]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+ACTION\s+FROM DOMAIN\s+DMARC\s+IP\s+REASON$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+deliver\s+shop\.example\s+pass\s+198\.51\.100\.7\s+aligned DKIM pass for shop\.example$/);
    expect(lines[2]).toMatch(/quarantine\s+phish\.example\s+fail\s+198\.51\.100\.7\s+DMARC policy of phish\.example is quarantine$/);
  });

  it('refuses a time or an action it does not know, saying what it expects', async () => {
    const since = await kagamiCommand(['log', '--data', dataDir, '--since', 'yesterday']);
    expect(since.code).not.toBe(0);
    expect(since.stderr).toMatch(/--since.*yesterday.*ISO 8601/s);
    const action = await kagamiCommand(['log', '--data', dataDir, '--action', 'bounce']);
    expect(action.code).not.toBe(0);
    expect(action.stderr).toMatch(/deliver, quarantine, reject, tempfail, released/);
  });

  it('shows an empty log when the data directory has no store yet', async () => {
    const empty = tempDir('kagami-log-empty-');
    const json = await kagamiCommand(['log', '--json', '--data', empty]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ verdicts: [] });
    expect((await kagamiCommand(['log', '--data', empty])).stdout).toBe('No verdicts.\n');
    expect(existsSync(dataPaths(empty).db)).toBe(false);
  });
});

describe('kagami quarantine', () => {
  const dataDir = tempDir('kagami-quarantine-');
  const mail = dataPaths(dataDir).mail;
  const t0 = Date.now() - HOUR;
  // Queue ids in arrival order: the list is newest first.
  const two = newQueueId(t0); // alice (Junk/new) and bob (Junk/cur, already seen)
  const lmtp = newQueueId(t0 + 1000); // on the mailbox server
  const early = newQueueId(t0 + 2000); // not yet delivered: no file
  const gone = newQueueId(t0 + 3000); // delivered, then removed by the mailbox owner
  const drop = newQueueId(t0 + 4000); // to be deleted
  const files: Record<string, string> = {};

  beforeAll(async () => {
    await withStore(dataDir, async (store) => {
      await store.enqueue([
        held(two, t0, [junk('alice@example.test'), junk('bob@example.test')], 'Urgent wire transfer'),
        held(lmtp, t0 + 1000, [{ address: 'carol@example.test', route: 'lmtp', mailbox: 'carol@example.test', folder: 'Junk' }], 'Invoice'),
        held(early, t0 + 2000, [junk('alice@example.test')], 'Still queued'),
        held(gone, t0 + 3000, [junk('alice@example.test')], 'Gone'),
        held(drop, t0 + 4000, [junk('alice@example.test')], 'Drop me'),
      ]);
      const at = Date.now();
      await store.recordOutcomes([
        { messageId: two, idx: 0, state: 'delivered', at },
        { messageId: two, idx: 1, state: 'delivered', at },
        { messageId: gone, idx: 0, state: 'delivered', at },
        { messageId: drop, idx: 0, state: 'delivered', at },
      ]);
    });
    files.alice = putInJunk(dataDir, 'example.test/alice', two, 0, message('Urgent wire transfer', 30));
    files.bob = putInJunk(dataDir, 'example.test/bob', two, 1, message('Urgent wire transfer', 3), 'cur');
    files.drop = putInJunk(dataDir, 'example.test/alice', drop, 0, message('Drop me', 1));
    // Same queue-id prefix, another recipient index: must not be taken for R1 of `two` (R1 vs R10).
    putInJunk(dataDir, 'example.test/alice', two, 10, message('Other', 1));
  });

  async function run(...args: string[]) {
    return kagamiCommand(['quarantine', ...args, '--data', dataDir]);
  }

  async function listed(...args: string[]): Promise<{ id: string; state: string }[]> {
    const r = await run('list', '--json', ...args);
    expect(r.code).toBe(0);
    return (JSON.parse(r.stdout) as { entries: { id: string; state: string }[] }).entries;
  }

  it('lists held entries newest first, as JSON and as a table (bare `quarantine` = list)', async () => {
    const r = await run('--json');
    expect(r.code).toBe(0);
    const { entries } = JSON.parse(r.stdout) as { entries: Record<string, unknown>[] };
    expect(entries.map((e) => e.id)).toEqual([`${drop}.0`, `${gone}.0`, `${early}.0`, `${lmtp}.0`, `${two}.1`, `${two}.0`]); // same time: id descending
    expect(entries.find((e) => e.id === `${two}.1`)).toEqual({
      id: `${two}.1`,
      queueId: two,
      idx: 1,
      address: 'bob@example.test',
      mailbox: 'example.test/bob',
      route: 'maildir',
      at: new Date(t0).toISOString(),
      mailFrom: 'bounce@phish.example',
      headerFrom: 'ceo@phish.example',
      fromDomain: 'phish.example',
      subject: 'Urgent wire transfer',
      reason: 'DMARC policy of phish.example is quarantine',
      state: 'held',
      changedAt: null,
    });
    expect(await listed()).toEqual(entries.map((e) => expect.objectContaining({ id: e.id })));
    const table = await run();
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+TIME\s+FROM DOMAIN\s+TO\s+SUBJECT\s+REASON$/);
    expect(table.stdout).toMatch(new RegExp(`${two}\\.0\\s+\\S+ \\S+\\s+phish\\.example\\s+alice@example\\.test\\s+Urgent wire transfer\\s+DMARC policy`));
  });

  it('shows an entry with the header section and the first lines of the body', async () => {
    const r = await run('show', `${two}.0`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Id:\s+\S+\.0$/m);
    expect(r.stdout).toMatch(/^State:\s+held$/m);
    expect(r.stdout).toContain(path.join(mail, 'example.test/alice/.Junk/new', files.alice!));
    expect(r.stdout).toMatch(/^Subject: Urgent wire transfer$/m);
    expect(r.stdout).toMatch(/^body line 20$/m);
    expect(r.stdout).not.toMatch(/^body line 21$/m);
    expect(r.stdout).toMatch(/more of the body not shown/);
    const json = JSON.parse((await run('show', `${two}.1`, '--json')).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      entry: { id: `${two}.1`, state: 'held' },
      file: path.join(mail, 'example.test/bob/.Junk/cur', files.bob!),
      folder: 'Junk',
      headers: expect.stringContaining('Subject: Urgent wire transfer\n'),
      body: 'body line 1\nbody line 2\nbody line 3\n',
    });
  });

  it('releases into the INBOX under the same name (new/ to new/, cur/ to cur/), once, and logs the release', async () => {
    const r = await run('release', `${two}.0`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ls(path.join(mail, 'example.test/alice/new'))).toEqual([files.alice]);
    expect(ls(path.join(mail, 'example.test/alice/.Junk/new'))).not.toContain(files.alice);
    for (const sub of ['tmp', 'cur']) expect(existsSync(path.join(mail, 'example.test/alice', sub))).toBe(true);
    expect((await run('release', `${two}.1`, '--json')).code).toBe(0);
    expect(ls(path.join(mail, 'example.test/bob/cur'))).toEqual([files.bob]);
    expect(ls(path.join(mail, 'example.test/bob/.Junk/cur'))).toEqual([]);

    const held = await listed();
    expect(held.map((e) => e.id)).not.toContain(`${two}.0`);
    expect((await listed('--all')).find((e) => e.id === `${two}.0`)?.state).toBe('released');
    const show = await run('show', `${two}.0`);
    expect(show.stdout).toMatch(/^State:\s+released at /m);
    expect(show.stdout).toMatch(/in the INBOX/);

    const again = await run('release', `${two}.0`);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/KGM-QUARANTINE-NOT-HELD: .*released/);

    const log = await kagamiCommand(['log', '--json', '--action', 'released', '--data', dataDir]);
    const verdicts = (JSON.parse(log.stdout) as { verdicts: Record<string, unknown>[] }).verdicts;
    expect(verdicts).toHaveLength(2);
    const alice = verdicts.find((v) => (v.recipients as string[])[0] === 'alice@example.test')!;
    expect(alice).toMatchObject({
      queueId: two,
      action: 'released',
      fromDomain: 'phish.example',
      headerFrom: 'ceo@phish.example',
      mailFrom: 'bounce@phish.example',
      dmarc: '',
      detail: { override: { type: 'local_policy', comment: 'released from quarantine by the operator' }, quarantine: { id: `${two}.0`, state: 'held' } },
    });
    expect(alice.id).toMatch(new RegExp(`^${two}\\.0\\.release\\.\\d+$`));
    const table = await kagamiCommand(['log', '--action', 'released', '--data', dataDir]);
    expect(table.stdout).toMatch(/released\s+phish\.example\s+-\s+-\s+released from quarantine by the operator/);
  });

  it('deletes the Junk file and marks the entry deleted', async () => {
    const r = await run('delete', `${drop}.0`, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ id: `${drop}.0`, state: 'deleted', route: 'maildir', mailbox: 'example.test/alice', file: path.join(mail, 'example.test/alice/.Junk/new', files.drop!) });
    expect(ls(path.join(mail, 'example.test/alice/.Junk/new'))).not.toContain(files.drop);
    expect((await listed('--all')).find((e) => e.id === `${drop}.0`)?.state).toBe('deleted');
    expect((await run('show', `${drop}.0`)).stdout).toMatch(/^File:\s+deleted$/m);
    expect((await run('delete', `${drop}.0`)).stderr).toMatch(/KGM-QUARANTINE-NOT-HELD/);
  });

  it('says the file is missing: not yet delivered (release and delete), or removed by the owner (release)', async () => {
    for (const verb of ['release', 'delete']) {
      const r = await run(verb, `${early}.0`);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/KGM-QUARANTINE-FILE-MISSING: /);
    }
    const release = await run('release', `${gone}.0`);
    expect(release.code).toBe(2);
    expect(release.stderr).toMatch(/KGM-QUARANTINE-FILE-MISSING: .*\.Junk/);
    expect(release.stderr).toMatch(/What to do: /);
    // Delivered and gone from Junk: delete only clears the entry.
    const del = await run('delete', `${gone}.0`);
    expect(del.code).toBe(0);
    expect(del.stdout).toMatch(/already gone/);
    expect((await listed()).map((e) => e.id)).toEqual([`${early}.0`, `${lmtp}.0`]);
  });

  it('changes only the index for an LMTP recipient, and says where the message is', async () => {
    const r = await run('release', `${lmtp}.0`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/index only.*mailbox server.*LMTP to 127\.0\.0\.1:24 for <carol@example\.test>/);
    expect((await listed('--all')).find((e) => e.id === `${lmtp}.0`)?.state).toBe('released');
    const log = await kagamiCommand(['log', '--json', '--action', 'released', '--domain', 'phish.example', '--since', '1h', '--data', dataDir]);
    expect((JSON.parse(log.stdout) as { verdicts: { recipients: string[] }[] }).verdicts.map((v) => v.recipients[0])).toContain('carol@example.test');
  });

  it('refuses an unknown id with KGM-QUARANTINE-UNKNOWN, exit 2, also where there is no store', async () => {
    for (const verb of ['show', 'release', 'delete']) {
      const r = await run(verb, `${two}.7`);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/KGM-QUARANTINE-UNKNOWN: .*\.7/);
    }
    const empty = tempDir('kagami-quarantine-empty-');
    const r = await kagamiCommand(['quarantine', 'release', 'NOPE.0', '--data', empty]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KGM-QUARANTINE-UNKNOWN/);
    expect((await kagamiCommand(['quarantine', '--data', empty])).stdout).toBe('No message is held in quarantine.\n');
    expect(JSON.parse((await kagamiCommand(['quarantine', 'list', '--all', '--json', '--data', empty])).stdout)).toEqual({ entries: [] });
  });
});
