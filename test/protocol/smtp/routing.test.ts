/**
 * Where accepted mail goes: unknown users, aliases to local users and to outside addresses
 * (delivered over SMTP to another real Kagami found through an MX record), retries after a
 * failed delivery, and the per-IP connection limit.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMail, startTestServer, waitForMail, withoutTrace, type TestServer } from '../../support/server.js';
import { openSession, RawSmtp } from '../../support/smtp.js';
import { kagamiQueue } from '../../support/queue.js';

let partner: TestServer;
let t: TestServer;
beforeAll(async () => {
  // The outside world: another Kagami that accepts mail for partner.example.
  partner = await startTestServer({ domains: ['partner.example'], hostname: 'mx.partner.example' });
  t = await startTestServer(
    {
      domains: ['example.test'],
      delivery: {
        unknown_local_user: 'reject',
        local_users: ['alice', 'bob'],
        remote_port: partner.smtpPort,
        retry_intervals: [0.3],
        timeout: 5,
      },
      aliases: {
        'team@example.test': ['alice', 'bob', 'carol@partner.example'],
        'gone@example.test': ['someone@nowhere.example'],
      },
      limits: { connections_per_ip: 3 },
    },
    {
      'partner.example': { MX: [{ exchange: 'mx.partner.example', preference: 10 }] },
      'mx.partner.example': { A: ['127.0.0.1'] },
      'nowhere.example': { MX: [{ exchange: '', preference: 0 }] },
    },
  );
});
afterAll(async () => {
  await t?.stop();
  await partner?.stop();
});

const msg = (subject: string) => `From: s@example.org\r\nSubject: ${subject}\r\n\r\nbody\r\n`;

async function sendTo(rcpts: string[], subject: string): Promise<number[]> {
  const c = await openSession(t.smtpPort);
  await c.mailFrom('s@example.org');
  const codes = [];
  for (const r of rcpts) codes.push((await c.rcptTo(r)).code);
  if (codes.includes(250)) codes.push((await c.data(msg(subject))).code);
  await c.quit();
  return codes;
}

describe('recipients and routing', () => {
  it('rejects unknown users with 550 5.1.1 when unknown_local_user = "reject", but takes postmaster', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('s@example.org');
    const r = await c.rcptTo('stranger@example.test');
    expect(r.code).toBe(550);
    expect(r.text).toBe('5.1.1 no such user here');
    expect((await c.rcptTo('postmaster@example.test')).code).toBe(250);
    expect((await c.rcptTo('abuse@example.test')).code).toBe(250);
    await c.quit();
  });

  it('expands an alias to local Maildirs and an outside address reached through its MX', async () => {
    expect(await sendTo(['team@example.test'], 'team news')).toEqual([250, 250]);
    for (const who of ['alice@example.test', 'bob@example.test']) {
      const [m] = await waitForMail(t.newDir(who));
      expect(withoutTrace(m!).toString()).toBe(msg('team news'));
    }
    // At the partner: our Received field travels along, under the partner's own trace fields.
    const [outside] = await waitForMail(partner.newDir('carol@partner.example'));
    const text = outside!.toString('latin1');
    // The partner's own Authentication-Results and Received come first, then ours.
    expect(text).toMatch(/^Return-Path: <s@example\.org>\r\nAuthentication-Results: mx\.partner\.example;[^]*?\r\nReceived: from mx\.localhost\.test [^]*?\r\nAuthentication-Results: mx\.localhost\.test;/);
    expect(text).toMatch(/by mx\.localhost\.test \(Kagami\) with ESMTP id /);
    expect(text.endsWith(msg('team news'))).toBe(true);
  });

  it('bounces an alias target whose domain publishes a null MX, and says why in the queue', async () => {
    expect(await sendTo(['gone@example.test'], 'to nowhere')).toEqual([250, 250]);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const q = await kagamiQueue(t.dataDir);
      const rcpt = q.find((m) => m.recipients.some((r) => r.address === 'gone@example.test'))?.recipients[0];
      if (rcpt?.state === 'bounced') {
        expect(rcpt.lastError).toMatch(/null MX/);
        break;
      }
      if (Date.now() > deadline) throw new Error(`not bounced: ${JSON.stringify(rcpt)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('retries a failed Maildir delivery and delivers once the cause is gone', async () => {
    // A file where bob's new/ folder should be: delivery fails until it is put back.
    const blocked = path.join(t.dataDir, 'mail', 'example.test', 'bob', 'new');
    const before = (await listMail(blocked)).length;
    await fs.rename(blocked, blocked + '.moved');
    await fs.writeFile(blocked, 'not a directory');
    expect(await sendTo(['bob@example.test'], 'retry me')).toEqual([250, 250]);
    // First attempt fails and is deferred with the reason.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const q = await kagamiQueue(t.dataDir);
      const r = q.flatMap((m) => m.recipients).find((x) => x.address === 'bob@example.test' && x.state === 'deferred');
      if (r) {
        expect(r.lastError).toMatch(/KGM-DELIVERY-MAILDIR/);
        expect(r.nextAttemptAt).not.toBeNull();
        break;
      }
      if (Date.now() > deadline) throw new Error('never deferred');
      await new Promise((res) => setTimeout(res, 50));
    }
    await fs.rm(blocked);
    await fs.rename(blocked + '.moved', blocked);
    const mail = await waitForMail(blocked, before + 1);
    expect(mail.filter((m) => m.toString().includes('Subject: retry me'))).toHaveLength(1);
  });

  it('refuses connections past limits.connections_per_ip with 421 4.7.0', async () => {
    const open = await Promise.all([0, 1, 2].map(() => openSession(t.smtpPort)));
    const extra = await RawSmtp.connect(t.smtpPort);
    const r = await extra.greeted();
    expect(r.code).toBe(421);
    expect(r.text).toMatch(/^4\.7\.0 too many connections/);
    extra.destroy();
    for (const c of open) await c.quit();
    // Once they are closed, the address may connect again.
    await new Promise((res) => setTimeout(res, 100));
    const again = await openSession(t.smtpPort);
    await again.quit();
  });
});
