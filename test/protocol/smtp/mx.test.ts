/**
 * The MX over real sockets with raw SMTP lines: what it offers, whom it accepts, and how it
 * refuses bad input without storing anything or breaking the next session.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMail, startTestServer, waitForMail, withoutTrace, type TestServer } from '../../support/server.js';
import { openSession, RawSmtp } from '../../support/smtp.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({
    limits: { message_size: 20_000, recipients: 3, line_length: 2000, header_fields: 1000, connections_per_ip: 50 },
  });
});
afterAll(async () => t?.stop());

const simple = (subject: string) => `From: a@example.org\r\nTo: x@example.test\r\nSubject: ${subject}\r\n\r\nbody\r\n`;

async function spoolAndQueueEmpty(): Promise<void> {
  // Refused or cut-off messages leave no spool file.
  expect(await fs.readdir(path.join(t.dataDir, 'spool'))).toEqual([]);
}

describe('session basics', () => {
  it('greets, and offers SIZE, PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES and STARTTLS but no AUTH', async () => {
    const c = await RawSmtp.connect(t.smtpPort);
    const greeting = await c.greeted();
    expect(greeting.code).toBe(220);
    expect(greeting.text).toMatch(/mx\.localhost\.test ESMTP Kagami/);
    const ehlo = await c.ehlo();
    expect(ehlo.code).toBe(250);
    const ext = ehlo.lines.map((l) => l.slice(4));
    for (const e of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS', 'SIZE 20000']) expect(ext).toContain(e);
    expect(ext.some((l) => l.startsWith('AUTH'))).toBe(false);
    await c.quit();
  });

  it('takes a pipelined transaction in one write', async () => {
    const c = await openSession(t.smtpPort);
    c.write('MAIL FROM:<p@example.org>\r\nRCPT TO:<pipe@example.test>\r\nDATA\r\n');
    expect((await c.reply()).code).toBe(250);
    expect((await c.reply()).code).toBe(250);
    expect((await c.reply()).code).toBe(354);
    c.write(simple('pipelined') + '.\r\n');
    const done = await c.reply();
    expect(done.code).toBe(250);
    expect(done.text).toMatch(/^2\.0\.0 Ok: queued as [0-9A-Z]{20}$/);
    await c.quit();
    const [m] = await waitForMail(t.newDir('pipe@example.test'));
    expect(withoutTrace(m!).toString()).toBe(simple('pipelined'));
  });

  it('accepts an internationalised address with SMTPUTF8', async () => {
    const c = await openSession(t.smtpPort);
    expect((await c.command('MAIL FROM:<sender@example.org> SMTPUTF8')).code).toBe(250);
    expect((await c.command(Buffer.from('RCPT TO:<jürgen@example.test>', 'utf8').toString('latin1'))).code).toBe(250);
    expect((await c.data(simple('utf8'))).code).toBe(250);
    await c.quit();
    await waitForMail(path.join(t.dataDir, 'mail', 'example.test', 'jürgen', 'new'));
  });
});

describe('recipients', () => {
  it('refuses other domains: 550 5.7.1 relaying denied', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    const r = await c.rcptTo('victim@elsewhere.example');
    expect(r.code).toBe(550);
    expect(r.text).toBe('5.7.1 relaying denied');
    await c.quit();
  });

  it('refuses local parts that cannot name a Maildir with 550 5.1.3', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    // smtp-server already refuses some as bad syntax (501); what passes its parser gets 550 5.1.3.
    for (const bad of ['../../etc@example.test', '.x@example.test', 'a..b@example.test', '"../x"@example.test']) {
      const r = await c.command(`RCPT TO:<${bad}>`);
      expect([501, 550], bad).toContain(r.code);
    }
    for (const bad of ['a/b@example.test', 'a/b/c@example.test']) {
      const r = await c.command(`RCPT TO:<${bad}>`);
      expect(r.code, bad).toBe(550);
      expect(r.text, bad).toMatch(/^5\.1\.3 /);
    }
    await c.quit();
  });

  it('gives 452 4.5.3 past limits.recipients, and delivers to the accepted ones', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    for (const u of ['r1', 'r2', 'r3']) expect((await c.rcptTo(`${u}@example.test`)).code).toBe(250);
    const fourth = await c.rcptTo('r4@example.test');
    expect(fourth.code).toBe(452);
    expect(fourth.text).toMatch(/^4\.5\.3 /);
    expect((await c.data(simple('many'))).code).toBe(250);
    await c.quit();
    for (const u of ['r1', 'r2', 'r3']) await waitForMail(t.newDir(`${u}@example.test`));
    expect(await listMail(t.newDir('r4@example.test'))).toEqual([]);
  });

  it('delivers once to a mailbox named twice in one transaction', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    expect((await c.rcptTo('twice@example.test')).code).toBe(250);
    expect((await c.rcptTo('Twice+tag@example.test')).code).toBe(250);
    expect((await c.data(simple('twice'))).code).toBe(250);
    await c.quit();
    await waitForMail(t.newDir('twice@example.test'));
    await new Promise((r) => setTimeout(r, 200));
    expect(await listMail(t.newDir('twice@example.test'))).toHaveLength(1);
  });
});

describe('bad input', () => {
  it('refuses a message over limits.message_size with 552 and stores nothing', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    await c.rcptTo('big@example.test');
    const r = await c.data(simple('big') + ('x'.repeat(998) + '\r\n').repeat(30));
    expect(r.code).toBe(552);
    // The session goes on.
    expect((await c.command('NOOP')).code).toBe(250);
    await c.quit();
    expect(await listMail(t.newDir('big@example.test'))).toEqual([]);
    await spoolAndQueueEmpty();
  });

  it('refuses a declared SIZE over the limit at MAIL FROM', async () => {
    const c = await openSession(t.smtpPort);
    const r = await c.command('MAIL FROM:<a@example.org> SIZE=999999');
    expect(r.code).toBe(552);
    await c.quit();
  });

  it('refuses 10,000 header lines with 552 5.3.4', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    await c.rcptTo('headers@example.test');
    const r = await c.data('X-H: 1\r\n'.repeat(10_000) + '\r\nbody\r\n');
    expect([552]).toContain(r.code);
    expect(r.text).toMatch(/^5\.3\.4 /);
    await c.quit();
    expect(await listMail(t.newDir('headers@example.test'))).toEqual([]);
  });

  it('refuses a line longer than limits.line_length', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    await c.rcptTo('long@example.test');
    const r = await c.data(simple('long') + 'y'.repeat(2001) + '\r\n');
    expect(r.code).toBe(552);
    await c.quit();
  });

  const smuggling: Array<[string, string]> = [
    ['<LF>.<LF>', '\n.\n'],
    ['<CR>.<CR>', '\r.\r'],
    ['<LF>.<CR><LF>', '\n.\r\n'],
    ['<CR><LF>.<LF>', '\r\n.\n'],
    ['<CR>.<CR><LF>', '\r.\r\n'],
    ['<LF>..<CR><LF>', '\n..\r\n'],
  ];
  for (const [name, seq] of smuggling) {
    it(`refuses a message carrying ${name} and never splits it into two`, async () => {
      const c = await openSession(t.smtpPort);
      await c.mailFrom('a@example.org');
      await c.rcptTo('smuggle@example.test');
      const smuggled = `From: a@example.org\r\nSubject: s\r\n\r\nhello${seq}MAIL FROM:<evil@example.test>\r\nRCPT TO:<smuggled@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n`;
      const r = await c.dataRaw(smuggled + '.\r\n');
      expect(r.code).toBe(550);
      expect(r.text).toMatch(/^5\.6\.2 bare CR or LF/);
      // Nothing of the smuggled text is taken as commands: the session is at the start of a transaction.
      expect((await c.command('NOOP')).code).toBe(250);
      await c.quit();
      expect(await listMail(t.newDir('smuggle@example.test'))).toEqual([]);
      expect(await listMail(t.newDir('smuggled@example.test'))).toEqual([]);
    });
  }

  it('answers garbage commands with 5xx and stays usable for the next client', async () => {
    const c = await openSession(t.smtpPort);
    for (const junk of ['FOO BAR', '\x00\x01\x02', 'MAIL FROM:<<<>>>', 'RCPT TO:<x@example.test>', 'DATA', 'GET / HTTP/1.1']) {
      const r = await c.command(junk).catch(() => null);
      if (r === null) break; // disconnected for too many bad commands: fine
      expect(r.code).toBeGreaterThanOrEqual(421);
    }
    c.destroy();
    const d = await openSession(t.smtpPort);
    expect((await d.mailFrom('a@example.org')).code).toBe(250);
    await d.quit();
  });

  it('stores nothing when the client disconnects mid-DATA', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    await c.rcptTo('cut@example.test');
    expect((await c.command('DATA')).code).toBe(354);
    c.write('From: a@example.org\r\nSubject: cut\r\n\r\npartial body');
    await new Promise((r) => setTimeout(r, 100));
    c.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect(await listMail(t.newDir('cut@example.test'))).toEqual([]);
    await spoolAndQueueEmpty();
  });
});

describe('metrics', () => {
  it('counts connections, messages and bytes on /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${t.httpPort}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/kagami_smtp_connections_total\{listener="mx"\} [1-9]/);
    expect(text).toMatch(/kagami_smtp_messages_total\{result="accepted"\} [1-9]/);
    expect(text).toMatch(/kagami_smtp_messages_total\{result="rejected"\} [1-9]/);
    expect(text).toMatch(/kagami_smtp_bytes_total [1-9]/);
    expect(text).toMatch(/kagami_smtp_accept_seconds_bucket/);
    expect(text).toMatch(/kagami_deliveries_total\{route="maildir",result="delivered"\} [1-9]/);
  });
});
