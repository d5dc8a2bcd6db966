/**
 * The built `kagami` command as an operator runs it: ports.json, the first log line, the queue
 * as JSON on the same data directory, domains remembered, graceful SIGTERM, coded errors.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startZoneServer, type ZoneServer } from '../../src/dns/zone-server.js';
import { kagamiCommand, runKagami, type LiveKagami } from '../support/live.js';
import { tempDir, waitForMail } from '../support/server.js';
import { openSession } from '../support/smtp.js';

let dns: ZoneServer;
const running: LiveKagami[] = [];
beforeAll(async () => {
  dns = await startZoneServer({});
});
afterAll(async () => {
  for (const k of running) k.proc.kill('SIGKILL');
  await dns.close();
});

function start(dataDir: string, extra: string[] = []): LiveKagami {
  const k = runKagami(['serve', '--data', dataDir, '--smtp-port', '0', '--dns', dns.address, ...extra], dataDir);
  running.push(k);
  return k;
}

async function send(port: number, to: string, subject: string): Promise<string> {
  const c = await openSession(port);
  expect((await c.mailFrom('sender@example.org')).code).toBe(250);
  expect((await c.rcptTo(to)).code).toBe(250);
  const r = await c.data(`From: sender@example.org\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\nhello\r\n`);
  await c.quit();
  expect(r.code).toBe(250);
  return /queued as ([0-9A-Z]{20})/.exec(r.text)![1]!;
}

describe('kagami serve', () => {
  it('writes ports.json once listening, names the ports in its first log line, and removes it on SIGTERM', async () => {
    const dataDir = tempDir('kagami-cli-');
    const k = start(dataDir, ['--domain', 'example.test']);
    const ports = await k.ports;
    expect(ports.pid).toBe(k.proc.pid);
    expect(ports.smtp).toBeGreaterThan(0);
    expect(ports.http).toBeGreaterThan(0);
    expect(ports.http).not.toBe(8025); // --smtp-port 0 sent the HTTP listener to a free port too
    // The log line goes out before ports.json is written, but through a pipe it may arrive later.
    for (let i = 0; i < 100 && !k.output().includes('\n'); i++) await new Promise((r) => setTimeout(r, 20));
    const first = JSON.parse(k.output().split('\n')[0]!) as { smtp: number; http: number; msg: string };
    expect(first.smtp).toBe(ports.smtp);
    expect(first.http).toBe(ports.http);
    expect(first.msg).toContain(String(ports.smtp));
    k.proc.kill('SIGTERM');
    expect(await k.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(path.join(dataDir, 'run', 'ports.json'))).toBe(false);
  });

  it('finishes a transaction in DATA when SIGTERM arrives, then exits 0; the message is delivered', async () => {
    const dataDir = tempDir('kagami-cli-');
    const k = start(dataDir, ['--domain', 'example.test']);
    const { smtp } = await k.ports;
    const c = await openSession(smtp!);
    await c.mailFrom('sender@example.org');
    await c.rcptTo('late@example.test');
    expect((await c.command('DATA')).code).toBe(354);
    c.write('From: sender@example.org\r\nSubject: in flight\r\n\r\nfirst half\r\n');
    await new Promise((r) => setTimeout(r, 100));
    k.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    c.write('second half\r\n.\r\n');
    const reply = await c.reply();
    expect(reply.code).toBe(250);
    c.destroy();
    expect((await k.exited).code).toBe(0);
    // Delivered before the exit, or on the next start: either way exactly once.
    const again = start(dataDir);
    await again.ports;
    const mail = await waitForMail(path.join(dataDir, 'mail', 'example.test', 'late', 'new'));
    expect(mail).toHaveLength(1);
    again.proc.kill('SIGTERM');
    await again.exited;
  });

  it('remembers --domain in DATA; `kagami queue --json` on the same DATA shows the message delivered', async () => {
    const dataDir = tempDir('kagami-cli-');
    const k1 = start(dataDir, ['--domain', 'Remembered.Example']);
    await k1.ports;
    k1.proc.kill('SIGTERM');
    await k1.exited;
    const k2 = start(dataDir); // no --domain this time
    const { smtp } = await k2.ports;
    const id = await send(smtp!, 'someone@remembered.example', 'remembered');
    await waitForMail(path.join(dataDir, 'mail', 'remembered.example', 'someone', 'new'));
    let queue: { messages: Array<Record<string, unknown>> } = { messages: [] };
    for (let i = 0; i < 50; i++) {
      const { code, stdout } = await kagamiCommand(['queue', '--json', '--data', dataDir]);
      expect(code).toBe(0);
      queue = JSON.parse(stdout);
      const rcpt = (queue.messages[0]?.recipients as Array<{ state: string }> | undefined)?.[0];
      if (rcpt?.state === 'delivered') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(queue.messages).toHaveLength(1);
    expect(queue.messages[0]).toMatchObject({
      id,
      from: 'sender@example.org',
      recipients: [{ address: 'someone@remembered.example', state: 'delivered', attempts: 1, nextAttemptAt: null, lastError: null }],
    });
    expect(typeof queue.messages[0]!.size).toBe('number');
    expect(new Date(queue.messages[0]!.receivedAt as string).toISOString()).toBe(queue.messages[0]!.receivedAt);
    const list = await kagamiCommand(['queue', 'list', '--json', '--data', dataDir]);
    expect(JSON.parse(list.stdout)).toEqual(queue);
    const table = await kagamiCommand(['queue', '--data', dataDir]);
    expect(table.stdout).toContain(id);
    expect(table.stdout).toMatch(/delivered\s+<someone@remembered\.example>/);
    k2.proc.kill('SIGTERM');
    await k2.exited;
  });

  it('refuses a bad configuration with a coded error and what to do, exit 2', async () => {
    const dir = tempDir('kagami-cli-');
    const file = path.join(dir, 'kagami.toml');
    writeFileSync(file, '[limits]\nrecipients = "many"\n');
    const r = await kagamiCommand(['serve', '--config', file, '--data', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KGM-CONFIG-INVALID: .*limits\.recipients/);
    expect(r.stderr).toMatch(/What to do: /);
  });

  it('says which port is taken: KGM-LISTEN-FAILED', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = tempDir('kagami-cli-');
    const r = await kagamiCommand(['serve', '--data', dir, '--smtp-port', String(port), '--http-port', '0', '--dns', dns.address]);
    blocker.close();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KGM-LISTEN-FAILED: .*EADDRINUSE/);
  });

  it('lists its commands in --help', async () => {
    const r = await kagamiCommand(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/serve/);
    expect(r.stdout).toMatch(/queue/);
    const serve = await kagamiCommand(['serve', '--help']);
    for (const flag of ['--config', '--data', '--smtp-port', '--http-port', '--dns', '--hostname', '--domain', '--listen', '--tls-cert', '--tls-key']) {
      expect(serve.stdout).toContain(flag);
    }
  });

  it('drops to run_as after binding when started as root', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (CI runs as root)');
    const dataDir = tempDir('kagami-cli-');
    const file = path.join(dataDir, 'kagami.toml');
    writeFileSync(file, 'run_as = "nobody"\n');
    const k = start(dataDir, ['--config', file, '--domain', 'example.test']);
    const { smtp } = await k.ports;
    const status = readFileSync(`/proc/${k.proc.pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)![1];
    expect(uid).toBe('65534');
    // The unprivileged process can still take and deliver mail.
    await send(smtp!, 'dropped@example.test', 'as nobody');
    await waitForMail(path.join(dataDir, 'mail', 'example.test', 'dropped', 'new'));
    k.proc.kill('SIGTERM');
    expect((await k.exited).code).toBe(0);
  });
});
