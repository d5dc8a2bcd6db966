/**
 * Alert mail while `kagami serve` runs (issue #5): reports that raise an alert are imported, the
 * server checks alerts every half second, and the alert lands in the postmaster's Maildir once,
 * through the queue and the delivery worker; later checks the same day, and a restart, send
 * nothing more.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateXml } from '../support/aggregate-xml.js';
import { startZoneServer, type ZoneServer } from '../support/dns-server.js';
import { kagamiCommand, runKagami, type LiveKagami } from '../support/live.js';
import { tempDir } from '../support/server.js';

const DAY = 86_400;
const running: LiveKagami[] = [];

const count = (text: string, event: string) => text.split('\n').filter((l) => l.includes(`"event":"${event}"`)).length;

async function until(what: string, k: LiveKagami, ok: () => boolean): Promise<void> {
  // A guard against a hang, not a timing threshold: every condition here is reached in well under a second.
  const deadline = Date.now() + 30_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within 30 s:\n${k.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('alert mail (kagami serve)', () => {
  const data = tempDir('kagami-alert-mail-');
  const configFile = path.join(data, 'kagami.toml');
  const maildir = path.join(data, 'mail', 'shop.example', 'postmaster', 'new');
  const mails = () => (existsSync(maildir) ? readdirSync(maildir) : []);
  let dns: ZoneServer;

  beforeAll(async () => {
    dns = await startZoneServer({});
    writeFileSync(configFile, `domains = ["shop.example"]\nhostname = "mx.shop.example"\n[alerts]\ninterval = 0.5\n`);
    const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
    const files: string[] = [];
    for (let d = 6; d >= 1; d--) {
      const begin = today - d * DAY;
      const records = [{ ip: '192.0.2.1', count: 50, dkim: 'pass' as const, spf: 'pass' as const }];
      if (d === 1) records.push({ ip: '203.0.113.66', count: 25, dkim: 'fail', spf: 'fail' } as never);
      const f = path.join(data, `r${d}.xml`);
      writeFileSync(f, aggregateXml({ org: 'receiver.example', reportId: `r${d}`, domain: 'shop.example', begin, end: begin + DAY - 1, records }));
      files.push(f);
    }
    const r = await kagamiCommand(['reports', 'import', '--data', data, '--json', ...files]);
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    for (const k of running) k.proc.kill('SIGKILL');
    await dns?.close();
  });

  function serve(): LiveKagami {
    const k = runKagami(['serve', '--config', configFile, '--data', data, '--smtp-port', '0', '--dns', dns.address], data);
    running.push(k);
    return k;
  }

  it('mails a new alert to the postmaster once, through the queue', async () => {
    const k = serve();
    await k.ports;
    await until('alert mail in the Maildir', k, () => mails().length > 0);
    const sentAt = count(k.output(), 'alerts-checked');
    // Three more checks the same day: the alert still holds, nothing more is sent.
    await until('three more checks', k, () => count(k.output(), 'alerts-checked') >= sentAt + 3);
    expect(mails()).toHaveLength(1);
    expect(count(k.output(), 'alert')).toBe(1);
    const text = readFileSync(path.join(maildir, mails()[0]!), 'latin1');
    expect(text).toMatch(/^Return-Path: <>\r\n/);
    expect(text).toContain('\r\nTo: <postmaster@shop.example>\r\n');
    expect(text).toContain('\r\nSubject: [kagami] critical: new unknown source 203.0.113.66 sent 25 messages as shop.example');
    expect(text).toContain('\r\nKagami-Alert: new-unknown-source:shop.example:203.0.113.66\r\n');
    expect(text).toContain('\r\nAuto-Submitted: auto-generated\r\n');
    // It went through the queue like received mail: the worker delivered a queued message.
    const queue = await kagamiCommand(['queue', '--data', data, '--json']);
    expect(queue.stdout).toContain('postmaster@shop.example');
    k.proc.kill('SIGTERM');
    expect(await k.exited).toEqual({ code: 0, signal: null });
  });

  it('remembers what it sent across a restart the same day', async () => {
    const k = serve();
    await k.ports;
    await until('two checks', k, () => count(k.output(), 'alerts-checked') >= 2);
    expect(count(k.output(), 'alert')).toBe(0);
    expect(mails()).toHaveLength(1);
    k.proc.kill('SIGTERM');
    expect(await k.exited).toEqual({ code: 0, signal: null });
  });
});
