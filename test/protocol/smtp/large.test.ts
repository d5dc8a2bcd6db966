/**
 * Messages larger than what the MX keeps in memory (4 MiB) are streamed to the spool as they
 * arrive, checked from the file, and delivered with the trace fields prepended: byte-exact too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitForMail, withoutTrace, type TestServer } from '../../support/server.js';
import { openSession } from '../../support/smtp.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ limits: { message_size: 20 * 1024 * 1024 } });
});
afterAll(async () => t?.stop());

describe('a 6 MB message', () => {
  it('is streamed to the spool and delivered byte-exact to two mailboxes', async () => {
    const line = 'All work and no play makes Jack a dull boy. 0123456789 abcdefghijklmnopqrstuvwxyz\r\n';
    const body = `From: big@example.org\r\nTo: a@example.test\r\nSubject: large\r\n\r\n${line.repeat(Math.ceil((6 * 1024 * 1024) / line.length))}`;
    const c = await openSession(t.smtpPort);
    await c.mailFrom('big@example.org');
    await c.rcptTo('big1@example.test');
    await c.rcptTo('big2@example.test');
    const r = await c.data(body);
    await c.quit();
    expect(r.code).toBe(250);
    for (const who of ['big1@example.test', 'big2@example.test']) {
      const [m] = await waitForMail(t.newDir(who));
      expect(withoutTrace(m!).equals(Buffer.from(body, 'latin1'))).toBe(true);
    }
  });
});
