/**
 * DMARC p=quarantine through a real Dovecot LMTP server: Kagami hands a quarantined recipient
 * over LMTP as `user+Junk@domain`, and Dovecot (recipient_delimiter = +,
 * lmtp_save_to_detail_mailbox = yes, lda_mailbox_autocreate = yes) files it in Junk.
 */
import { chmodSync, chownSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAIL_GID, MAIL_UID, requireDovecot, startDovecot, type Dovecot } from '../support/dovecot.js';
import { listMail, startTestServer, tempDir, waitForMail, type TestServer } from '../support/server.js';
import { openSession } from '../support/smtp.js';

const WAIT_MS = 15_000;

const message = (from: string, id: string) =>
  [`From: ${from}`, 'To: carol@example.test', `Subject: quarantine interop ${id}`, `Message-ID: <${id}@x>`, '', 'Hello.', ''].join('\r\n');

async function send(port: number, mailFrom: string, body: string): Promise<void> {
  const c = await openSession(port);
  try {
    expect((await c.mailFrom(mailFrom)).code).toBe(250);
    expect((await c.rcptTo('carol@example.test')).code).toBe(250);
    const reply = await c.data(body);
    expect(reply.code, reply.lines.join(' | ')).toBe(250);
  } finally {
    await c.quit();
  }
}

describe('Dovecot LMTP files a DMARC-quarantined message in Junk (lmtp_save_to_detail_mailbox)', () => {
  let dovecot: Dovecot | undefined;
  let t: TestServer | undefined;
  let mailRoot = '';

  beforeAll(async () => {
    requireDovecot();
    mailRoot = tempDir('kagami-dovecot-quarantine-');
    chmodSync(mailRoot, 0o755);
    chownSync(mailRoot, MAIL_UID, MAIL_GID);
    dovecot = await startDovecot({
      listeners: ['lmtp'],
      config: () => `
mail_location = maildir:${mailRoot}/%d/%n
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
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
    t = await startTestServer(
      { delivery: { mode: 'lmtp', lmtp: { host: '127.0.0.1', port: dovecot.lmtpPort }, retry_intervals: [0.3], timeout: 5 } },
      {
        'good.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
        '_dmarc.good.example': { TXT: ['v=DMARC1; p=reject'] },
        'bounces.esp.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
        'victim.example': { TXT: ['v=spf1 ip4:192.0.2.0/24 -all'], A: ['192.0.2.20'] },
        '_dmarc.victim.example': { TXT: ['v=DMARC1; p=quarantine'] },
      },
    );
  });
  afterAll(async () => {
    await t?.stop();
    await dovecot?.close();
    if (mailRoot) rmSync(mailRoot, { recursive: true, force: true });
  });

  const maildir = () => path.join(mailRoot, 'example.test', 'carol');

  it('a spoofed From: under p=quarantine gets 250 and lands in Junk with Kagami-Quarantine:, not INBOX', async () => {
    await send(t!.smtpPort, 'bounce@bounces.esp.example', message('"Victim Bank" <security@victim.example>', 'spoofed'));
    const [stored] = await waitForMail(path.join(maildir(), '.Junk', 'new'), 1, WAIT_MS).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${dovecot!.log()}`);
    });
    const text = stored!.toString('utf8');
    expect(text).toMatch(/\nKagami-Quarantine: dmarc; policy=quarantine; reason="[^"\n]*victim\.example/);
    expect(text).toMatch(/dmarc=fail/);
    expect(text).toContain('Message-ID: <spoofed@x>');
    expect(await listMail(path.join(maildir(), 'new'))).toHaveLength(0);
  });

  it('a DMARC-passing message for the same user lands in INBOX, without Kagami-Quarantine:', async () => {
    await send(t!.smtpPort, 'news@good.example', message('News <news@good.example>', 'aligned'));
    const [stored] = await waitForMail(path.join(maildir(), 'new'), 1, WAIT_MS).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${dovecot!.log()}`);
    });
    const text = stored!.toString('utf8');
    expect(text).toContain('Message-ID: <aligned@x>');
    expect(text).toMatch(/dmarc=pass/);
    expect(text).not.toMatch(/Kagami-Quarantine:/);
    expect(await listMail(path.join(maildir(), '.Junk', 'new'))).toHaveLength(1);
  });
});
