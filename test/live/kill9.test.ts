/**
 * Nothing acknowledged is ever lost: 1000 messages over several connections to the built
 * `kagami serve`, kill -9 at a random point, restart, and every message that got a 250 must end
 * up in a Maildir exactly once (none twice, none missing).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startZoneServer, type ZoneServer } from '../../src/dns/zone-server.js';
import { kagamiCommand, runKagami, type LiveKagami } from '../support/live.js';
import { tempDir } from '../support/server.js';
import { openSession } from '../support/smtp.js';

const TOTAL = 1000;
const SESSIONS = 8;
const MAILBOXES = 5;

let dns: ZoneServer | undefined;
let live: LiveKagami | undefined;
afterAll(async () => {
  live?.proc.kill('SIGKILL');
  await dns?.close();
});

function body(n: number): string {
  return `From: load@example.org\r\nTo: u${n % MAILBOXES}@example.test\r\nSubject: kill9 ${n}\r\nMessage-ID: <kill9-${n}@example.org>\r\n\r\n${'payload line\r\n'.repeat(20)}`;
}

/** Sends messages from `next()` until it runs dry or the connection dies; records each 250. */
async function sender(port: number, next: () => number | null, acked: Set<number>, attempted: Set<number>, onAck: () => void) {
  let c;
  try {
    c = await openSession(port);
  } catch {
    return;
  }
  try {
    for (let n = next(); n !== null; n = next()) {
      attempted.add(n);
      if ((await c.mailFrom('load@example.org')).code !== 250) return;
      if ((await c.rcptTo(`u${n % MAILBOXES}@example.test`)).code !== 250) return;
      const r = await c.data(body(n));
      if (r.code === 250) {
        acked.add(n);
        onAck();
      }
    }
    await c.quit();
  } catch {
    // The server was killed under us: whatever was not acknowledged is the client's to retry.
  } finally {
    c.destroy();
  }
}

async function countDelivered(dataDir: string): Promise<Map<number, number>> {
  const seen = new Map<number, number>();
  for (let u = 0; u < MAILBOXES; u++) {
    const dir = path.join(dataDir, 'mail', 'example.test', `u${u}`, 'new');
    let names: string[] = [];
    try {
      names = await fs.readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const text = await fs.readFile(path.join(dir, name), 'latin1');
      const m = /Subject: kill9 (\d+)\r\n/.exec(text);
      if (!m) throw new Error(`unexpected file ${name}`);
      const n = Number(m[1]);
      seen.set(n, (seen.get(n) ?? 0) + 1);
    }
  }
  return seen;
}

async function pendingInQueue(dataDir: string): Promise<number> {
  const { stdout, code } = await kagamiCommand(['queue', '--json', '--data', dataDir]);
  expect(code).toBe(0);
  const q = JSON.parse(stdout) as { messages: Array<{ recipients: Array<{ state: string }> }> };
  return q.messages.filter((m) => m.recipients.some((r) => r.state === 'queued' || r.state === 'deferred')).length;
}

describe('kill -9 in the middle of 1000 messages', () => {
  it('loses nothing that was acknowledged and delivers nothing twice', async () => {
    dns = await startZoneServer({});
    const dataDir = tempDir('kagami-kill9-');
    const args = ['serve', '--data', dataDir, '--smtp-port', '0', '--dns', dns.address, '--domain', 'example.test', '--log-level', 'warn'];
    live = runKagami(args, dataDir);
    const first = await live.ports;

    const killAt = 100 + Math.floor(Math.random() * 700);
    const acked = new Set<number>();
    const attempted = new Set<number>();
    let cursor = 0;
    let killed = false;
    const next = () => (cursor < TOTAL ? cursor++ : null);
    const onAck = () => {
      if (!killed && acked.size >= killAt) {
        killed = true;
        live!.proc.kill('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: SESSIONS }, () => sender(first.smtp!, next, acked, attempted, onAck)));
    await live.exited;
    const ackedBeforeKill = acked.size;
    expect(killed).toBe(true);

    // Restart on the same data and send the messages no session got to.
    live = runKagami(args, dataDir);
    const second = await live.ports;
    const inFlightAtKill = new Set([...attempted].filter((n) => !acked.has(n)));
    let rest = cursor;
    const nextRest = () => (rest < TOTAL ? rest++ : null);
    await Promise.all(Array.from({ length: SESSIONS }, () => sender(second.smtp!, nextRest, acked, attempted, () => undefined)));

    const deadline = Date.now() + 60_000;
    while ((await pendingInQueue(dataDir)) > 0) {
      if (Date.now() > deadline) throw new Error('queue did not drain within 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const delivered = await countDelivered(dataDir);
    const duplicates = [...delivered].filter(([, count]) => count > 1).map(([n]) => n);
    const lost = [...acked].filter((n) => !delivered.has(n));
    console.log(
      `kill -9 after ${ackedBeforeKill} acknowledged (target ${killAt}); in flight at the kill: ${inFlightAtKill.size}; ` +
        `acknowledged in all: ${acked.size}; delivered: ${delivered.size}; lost: ${lost.length}; duplicates: ${duplicates.length}`,
    );
    expect(duplicates).toEqual([]);
    expect(lost).toEqual([]);
    // Only acknowledged messages, or those cut off mid-reply by the kill, may be in a Maildir.
    for (const n of delivered.keys()) expect(acked.has(n) || inFlightAtKill.has(n)).toBe(true);
    expect(acked.size).toBeGreaterThanOrEqual(TOTAL - inFlightAtKill.size);

    live.proc.kill('SIGTERM');
    expect((await live.exited).code).toBe(0);
  }, 180_000);
});
