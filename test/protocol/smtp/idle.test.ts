/** limits.idle_timeout: a client that stops talking is disconnected, and its transaction stored nowhere. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { openSession } from '../../support/smtp.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ limits: { idle_timeout: 0.5 } });
});
afterAll(async () => t?.stop());

describe('idle timeout', () => {
  it('closes a silent session with 421 after limits.idle_timeout, even mid-DATA', async () => {
    const c = await openSession(t.smtpPort);
    await c.mailFrom('a@example.org');
    await c.rcptTo('idle@example.test');
    expect((await c.command('DATA')).code).toBe(354);
    c.write('Subject: half a message\r\n');
    const started = Date.now();
    const r = await c.reply(5000);
    expect(r.code).toBe(421);
    expect(Date.now() - started).toBeLessThan(4000);
    await new Promise((res) => setTimeout(res, 200));
    expect(c.closed).toBe(true);
    expect(await fs.readdir(path.join(t.dataDir, 'spool'))).toEqual([]);
  });
});
