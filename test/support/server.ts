/**
 * Starts a real Kagami (in this process) on free ports with a fresh data directory and its own
 * DNS zone server, for tests that talk to it over sockets.
 */
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/main.js';
import { createLogger } from '../../src/observability/log.js';
import { startZoneServer, type ZoneServer } from '../../src/dns/zone-server.js';
import type { ZoneData } from '../../src/dns/zone.js';

export interface TestServer {
  server: RunningServer;
  smtpPort: number;
  httpPort: number;
  dataDir: string;
  dns: ZoneServer;
  /** DATA/mail/<domain>/<user>/new (or a folder's new/). */
  newDir(address: string, folder?: string): string;
  stop(): Promise<void>;
}

export function tempDir(prefix = 'kagami-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startTestServer(raw: Record<string, unknown> = {}, zone: ZoneData = {}): Promise<TestServer> {
  const dataDir = tempDir();
  const dns = await startZoneServer(zone);
  const config = validateConfig({
    data_dir: dataDir,
    domains: ['example.test'],
    smtp: { port: 0 },
    http: { port: 0 },
    dns: { servers: [dns.address], timeout_ms: 500, attempts: 1 },
    log: { level: 'silent' },
    ...raw,
  });
  const server = await startServer(config, { log: createLogger('silent') });
  return {
    server,
    smtpPort: server.ports.smtp!,
    httpPort: server.ports.http!,
    dataDir,
    dns,
    newDir(address, folder) {
      const [local, domain] = address.toLowerCase().split('@') as [string, string];
      const base = path.join(dataDir, 'mail', domain, local.split('+')[0]!);
      return path.join(folder ? path.join(base, '.' + folder) : base, 'new');
    },
    async stop() {
      await server.stop();
      await dns.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `dir` holds at least `count` files; returns their contents sorted by name. */
export async function waitForMail(dir: string, count = 1, timeoutMs = 10_000): Promise<Buffer[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let names: string[] = [];
    try {
      names = (await fs.readdir(dir)).sort();
    } catch {
      /* not created yet */
    }
    if (names.length >= count) return Promise.all(names.map((n) => fs.readFile(path.join(dir, n))));
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} message(s) in ${dir}; found ${names.length}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Files in a Maildir new/ directory (none if it does not exist). */
export async function listMail(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch {
    return [];
  }
}

/** Strips the Return-Path, Authentication-Results and Received fields Kagami prepends. */
export function withoutTrace(message: Buffer): Buffer {
  const text = message.toString('latin1');
  const m = /^Return-Path: <[^>]*>\r\nAuthentication-Results: [^\r]*\r\n(?:[ \t][^\r]*\r\n)*Received: [^\r]*\r\n(?:\t[^\r]*\r\n)*/.exec(text);
  if (!m) throw new Error(`message does not start with Return-Path, Authentication-Results and Received:\n${text.slice(0, 600)}`);
  return Buffer.from(text.slice(m[0].length), 'latin1');
}
