/**
 * A real Dovecot on both sides of Kagami's mail store: as the LMTP server Kagami hands every
 * local recipient to (`delivery.mode = "lmtp"`), and as the IMAP server that reads the Maildir
 * Kagami writes, configured with the snippet from README.md's "Read it with Dovecot".
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQueue } from '../../src/cli/queue.js';
import type { QueueEntry } from '../../src/store/types.js';
import { MAIL_GID, MAIL_UID, requireDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { listMail, startTestServer, tempDir, waitForMail, withoutTrace, type TestServer } from '../support/server.js';
import { openSession } from '../support/smtp.js';

const PYTHON = '/usr/bin/python3';
const WAIT_MS = 15_000;

beforeAll(() => {
  // A missing peer fails the run, never skips it: `bash .ci/run` installs them.
  requireDovecot();
  if (!statSync(PYTHON, { throwIfNoEntry: false })) throw new Error(`${PYTHON} is missing: apt-get install python3`);
});

const message = (to: string, id: string) =>
  [
    'From: Sender <sender@example.org>',
    `To: ${to}`,
    `Subject: dovecot interop ${id}`,
    `Message-ID: <${id}@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Grüße aus dem Test.',
    '.a line that starts with a dot',
    'trailing spaces   ',
    '',
  ].join('\r\n');

/** Sends one message over SMTP; returns the queue id from the 250 reply. */
async function send(port: number, to: string[], body: string): Promise<string> {
  const c = await openSession(port);
  try {
    expect((await c.mailFrom('sender@example.org')).code).toBe(250);
    for (const rcpt of to) expect((await c.rcptTo(rcpt)).code).toBe(250);
    // The raw client writes strings as latin1: hand it the UTF-8 bytes that way.
    const reply = await c.data(Buffer.from(body, 'utf8').toString('latin1'));
    const id = /queued as ([0-9A-Z]+)/.exec(reply.text)?.[1];
    if (reply.code !== 250 || !id) throw new Error(`DATA: ${reply.lines.join(' | ')}`);
    return id;
  } finally {
    await c.quit();
  }
}

/** Polls the queue until `pred` holds for message `id`; bounded. */
async function waitForQueue(dataDir: string, id: string, pred: (m: QueueEntry) => boolean, what: string): Promise<QueueEntry> {
  const deadline = Date.now() + WAIT_MS;
  let last: QueueEntry | undefined;
  for (;;) {
    last = (await readQueue(dataDir)).find((m) => m.id === id);
    if (last && pred(last)) return last;
    if (Date.now() > deadline) throw new Error(`queue entry ${id} not ${what} within ${WAIT_MS} ms: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const KAGAMI_RECEIVED = /Received: from client\.example \(\[127\.0\.0\.1\]\)\r?\n\tby mx\.localhost\.test \(Kagami\) with ESMTP id ([0-9A-Z]{20})\r?\n\t; [^\n]*\n/;

describe('Dovecot as the LMTP server (delivery.mode = "lmtp")', () => {
  let dovecot: Dovecot | undefined;
  let t: TestServer | undefined;
  let mailRoot = '';

  beforeAll(async () => {
    // The Maildirs Dovecot writes, as the unprivileged MAIL_UID.
    mailRoot = tempDir('kagami-dovecot-mail-');
    chmodSync(mailRoot, 0o755);
    chownSync(mailRoot, MAIL_UID, MAIL_GID);
    dovecot = await startDovecot({
      listeners: ['lmtp'],
      config: () => `
mail_location = maildir:${mailRoot}/%d/%n
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = allow_all_users=yes uid=${MAIL_UID} gid=${MAIL_GID} home=${mailRoot}/%d/%n
}
`,
    });
    t = await startTestServer({
      delivery: { mode: 'lmtp', lmtp: { host: '127.0.0.1', port: dovecot.lmtpPort }, retry_intervals: [0.3], timeout: 5 },
    });
  });
  afterAll(async () => {
    await t?.stop();
    await dovecot?.close();
    if (mailRoot) rmSync(mailRoot, { recursive: true, force: true });
  });

  const inbox = (user: string) => path.join(mailRoot, 'example.test', user, 'new');

  /** Dovecot's copy: its own trace fields, then Kagami's Received, then the message as sent. */
  function checkDelivered(stored: Buffer, queueId: string, body: string): void {
    // Dovecot saves Maildir files with LF line ends (mail_save_crlf = no).
    const text = stored.toString('utf8');
    // Return-Path and Dovecot's own Received, naming Kagami's LHLO (Delivered-To is added only
    // for single-recipient transactions), then Kagami's Received.
    expect(text).toMatch(
      /^Return-Path: <sender@example\.org>\nReceived: from mx\.localhost\.test \(\[127\.0\.0\.1\]\)\n\tby [^\n]+ with LMTP\n\tid [^\n]+\n\t\(envelope-from <sender@example\.org>\); [^\n]+\nAuthentication-Results: mx\.localhost\.test;[^]*?\nReceived: from client\.example /,
    );
    const m = KAGAMI_RECEIVED.exec(text);
    expect(m, text).not.toBeNull();
    expect(m![1]).toBe(queueId);
    // Two recipients in one transaction: Kagami's Received names neither (RFC 5321 7.2).
    expect(m![0]).not.toMatch(/for </);
    expect(text.slice(m!.index + m![0].length)).toBe(body.replace(/\r\n/g, '\n'));
  }

  it('hands one message for two recipients to Dovecot; each Maildir gets it once, body intact', async () => {
    const body = message('alice@example.test, Bob@Example.TEST', 'lmtp-1');
    const id = await send(t!.smtpPort, ['alice@example.test', 'Bob@Example.TEST'], body);
    for (const user of ['alice', 'bob']) {
      const stored = await waitForMail(inbox(user), 1, WAIT_MS);
      expect(stored).toHaveLength(1);
      checkDelivered(stored[0]!, id, body);
    }
    const entry = await waitForQueue(t!.dataDir, id, (m) => m.recipients.every((r) => r.state === 'delivered'), 'delivered');
    expect(entry.recipients.map((r) => r.attempts)).toEqual([1, 1]);
  });

  it('keeps the message deferred while Dovecot is down and delivers it once Dovecot is back', async () => {
    await dovecot!.stop();
    const body = message('alice@example.test, bob@example.test', 'lmtp-2');
    const id = await send(t!.smtpPort, ['alice@example.test', 'bob@example.test'], body);
    // At least two failed attempts, 0.3 s apart: retried, not bounced.
    const deferred = await waitForQueue(
      t!.dataDir,
      id,
      (m) => m.recipients.every((r) => r.state === 'deferred' && r.attempts >= 2),
      'deferred twice',
    );
    for (const r of deferred.recipients) {
      expect(r.lastError).toMatch(/KGM-DELIVERY-LMTP/);
      expect(r.nextAttemptAt).not.toBeNull();
    }
    for (const user of ['alice', 'bob']) expect(await listMail(inbox(user))).toHaveLength(1);

    await dovecot!.start();
    for (const user of ['alice', 'bob']) {
      const stored = await waitForMail(inbox(user), 2, WAIT_MS);
      expect(stored).toHaveLength(2);
      const second = stored.find((s) => s.toString('utf8').includes('Message-ID: <lmtp-2@example.org>'));
      expect(second).toBeDefined();
      checkDelivered(second!, id, body);
    }
    await waitForQueue(t!.dataDir, id, (m) => m.recipients.every((r) => r.state === 'delivered'), 'delivered');
  });
});

/** README.md's "Read it with Dovecot" snippet. */
function readmeSnippet(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## Read it with Dovecot$/m)[1];
  const block = section && /^```\n([\s\S]*?)^```$/m.exec(section)?.[1];
  if (!block) throw new Error('README.md has no config block under "## Read it with Dovecot"');
  return block;
}

/** Replaces `from` (which must occur) with `to`, so a README that drifts fails loudly. */
function substitute(text: string, from: RegExp, to: string): string {
  if (!from.test(text)) throw new Error(`README snippet no longer matches ${from}:\n${text}`);
  return text.replace(new RegExp(from.source, from.flags.includes('g') ? from.flags : from.flags + 'g'), to);
}

/** LOGIN, SELECT INBOX, FETCH 1 (RFC822) with Python's imaplib; returns the message bytes. */
function imapFetch(port: number, user: string, password: string): Promise<Buffer> {
  const script = `
import imaplib, sys
m = imaplib.IMAP4('127.0.0.1', ${port}, timeout=10)
m.login(sys.argv[1], sys.argv[2])
typ, data = m.select('INBOX')
assert typ == 'OK' and data == [b'1'], (typ, data)
typ, data = m.fetch('1', '(RFC822)')
assert typ == 'OK', (typ, data)
sys.stdout.buffer.write(data[0][1])
m.logout()
`;
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', script, user, password], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`imaplib exited ${code ?? signal}: ${err}`));
    });
  });
}

describe("Dovecot serving Kagami's Maildir over IMAP (README snippet)", () => {
  let dovecot: Dovecot | undefined;
  let t: TestServer | undefined;
  let etc = '';

  beforeAll(async () => {
    t = await startTestServer();
    etc = tempDir('kagami-dovecot-etc-');
    chmodSync(etc, 0o755);
  });
  afterAll(async () => {
    await dovecot?.close();
    await t?.stop();
    if (etc) rmSync(etc, { recursive: true, force: true });
  });

  it('LOGIN alice@example.test, SELECT INBOX, FETCH 1 (RFC822) returns the message Kagami stored', async () => {
    const body = message('alice@example.test', 'imap-1');
    await send(t!.smtpPort, ['alice@example.test'], body);
    const [stored] = await waitForMail(t!.newDir('alice@example.test'), 1, WAIT_MS);
    expect(withoutTrace(stored!).toString('utf8')).toBe(body);

    // In production Kagami runs as its own user (run_as) and the README gives that user as
    // mail_uid. Here Kagami runs as root, which Dovecot refuses as a mail uid, so the store is
    // handed to MAIL_UID as if Kagami had written it as that user.
    chmodSync(t!.dataDir, 0o711);
    const chownTree = (p: string) => {
      chownSync(p, MAIL_UID, MAIL_GID);
      if (statSync(p).isDirectory()) for (const n of readdirSync(p)) chownTree(path.join(p, n));
    };
    chownTree(path.join(t!.dataDir, 'mail'));

    const password = 'correct horse battery staple';
    // The README's passdb names the scheme, so the file holds the bare crypt(3) string.
    const hash = execFileSync('/usr/bin/doveadm', ['pw', '-s', 'SHA512-CRYPT', '-p', password], { timeout: WAIT_MS })
      .toString()
      .trim()
      .replace(/^\{SHA512-CRYPT\}/, '');
    const passwdFile = path.join(etc, 'kagami.passwd');
    writeFileSync(passwdFile, `alice@example.test:${hash}\n`, { mode: 0o644 });

    let config = readmeSnippet();
    config = substitute(config, /\/srv\/kagami\/data/, t!.dataDir);
    config = substitute(config, /\/etc\/dovecot\/kagami\.passwd/, passwdFile);
    config = substitute(config, /^(mail_uid\s*=\s*)kagami$/m, `$1${MAIL_UID}`);
    config = substitute(config, /^(mail_gid\s*=\s*)kagami$/m, `$1${MAIL_GID}`);
    config = substitute(config, /\buid=kagami gid=kagami\b/, `uid=${MAIL_UID} gid=${MAIL_GID}`);
    dovecot = await startDovecot({ listeners: ['imap'], config: () => config });

    const fetched = await imapFetch(dovecot.imapPort, 'alice@example.test', password);
    expect(fetched.toString('hex')).toBe(stored!.toString('hex'));
    expect(withoutTrace(fetched).toString('utf8')).toBe(body);
  });
});
