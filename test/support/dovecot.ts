/**
 * Starts a real Dovecot (`dovecot -F -c CONFIG`, a child of the test process) from a config
 * written to a temporary directory: its own base_dir, state_dir and log file, listeners on
 * 127.0.0.1 only, on ports picked at run time. The Debian packages dovecot-core, dovecot-imapd and
 * dovecot-lmtpd provide it (`bash .ci/run` installs them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from './server.js';

export const DOVECOT = '/usr/sbin/dovecot';

/** A missing peer fails the run, never skips it. */
export function requireDovecot(): void {
  for (const bin of [DOVECOT, '/usr/lib/dovecot/imap', '/usr/lib/dovecot/lmtp']) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install dovecot-core dovecot-imapd dovecot-lmtpd`);
  }
}

/** The uid and gid Dovecot's mail processes run as in tests: Dovecot refuses uid 0 for mail. */
export const MAIL_UID = 65534;
export const MAIL_GID = 65534;

export interface DovecotOptions {
  /**
   * Config lines (mail_location, passdb, userdb, ...) given the instance's directory; the harness
   * appends base_dir, state_dir, logging, `ssl = no`, protocols and listeners.
   */
  config(dir: string): string;
  /** Listeners to open, each on a free 127.0.0.1 port. */
  listeners: Array<'lmtp' | 'imap'>;
}

export interface Dovecot {
  /** The temporary directory holding the config, base_dir, state_dir and log. */
  dir: string;
  lmtpPort: number;
  imapPort: number;
  /** Whether the master process is running. */
  running(): boolean;
  /** Starts the master again with the same config and ports (after `stop`). */
  start(): Promise<void>;
  /** Stops the master and waits for it to exit; the directory stays. */
  stop(): Promise<void>;
  /** Stops the master and removes the directory. */
  close(): Promise<void>;
  /** Dovecot's log so far. */
  log(): string;
}

const WAIT_MS = 15_000;

/** A port that was free a moment ago: bind 0, read it, close. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function harnessConfig(dir: string, lmtpPort: number, imapPort: number, protocols: string[]): string {
  return [
    `base_dir = ${dir}/run`,
    `state_dir = ${dir}/state`,
    `log_path = ${dir}/dovecot.log`,
    `info_log_path = ${dir}/dovecot.log`,
    'listen = 127.0.0.1',
    'ssl = no',
    `protocols = ${protocols.join(' ')}`,
    'service lmtp {',
    ...(lmtpPort ? ['  inet_listener lmtp {', '    address = 127.0.0.1', `    port = ${lmtpPort}`, '  }'] : []),
    '}',
    'service imap-login {',
    `  inet_listener imap {`,
    '    address = 127.0.0.1',
    `    port = ${imapPort}`,
    '  }',
    '  inet_listener imaps {',
    '    port = 0',
    '  }',
    '}',
    '',
  ].join('\n');
}

export async function startDovecot(opts: DovecotOptions): Promise<Dovecot> {
  requireDovecot();
  const dir = tempDir('kagami-dovecot-');
  const configFile = path.join(dir, 'dovecot.conf');
  const logFile = path.join(dir, 'dovecot.log');
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  let lmtpPort = 0;
  let imapPort = 0;

  const log = () => {
    let text = '';
    try {
      text = readFileSync(logFile, 'utf8');
    } catch {
      /* not written yet */
    }
    return text + output;
  };

  function launch(): void {
    output = '';
    const c = spawn(DOVECOT, ['-F', '-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    c.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    child = c;
    exited = new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.once('error', (err) => {
        output += String(err);
        resolve();
      });
    });
  }

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  /** Resolves once every listener accepts; throws with the log if the master dies or 15 s pass. */
  async function ready(): Promise<void> {
    const ports = [lmtpPort, imapPort].filter((p) => p > 0);
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      if (!running()) throw new Error(`dovecot exited (${child?.exitCode ?? child?.signalCode}):\n${log()}`);
      const up = await Promise.all(ports.map(canConnect));
      if (up.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`dovecot not listening on ${ports.join(', ')} within ${WAIT_MS} ms:\n${log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async function stop(): Promise<void> {
    const c = child;
    if (!c || !running()) return;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), WAIT_MS);
    await exited;
    clearTimeout(timer);
  }

  async function start(): Promise<void> {
    if (running()) return;
    launch();
    try {
      await ready();
    } catch (err) {
      await stop();
      throw err;
    }
  }

  const protocols = opts.listeners.includes('lmtp') ? ['lmtp', 'imap'] : ['imap'];
  try {
    // Dovecot's unprivileged processes (auth as dovecot, mail as MAIL_UID) read below it.
    chmodSync(dir, 0o755);
    mkdirSync(path.join(dir, 'run'));
    mkdirSync(path.join(dir, 'state'));
    // A port taken between freePort() and Dovecot's bind: try again with new ones.
    for (let attempt = 1; ; attempt++) {
      lmtpPort = opts.listeners.includes('lmtp') ? await freePort() : 0;
      imapPort = opts.listeners.includes('imap') ? await freePort() : 0;
      writeFileSync(configFile, opts.config(dir).trimEnd() + '\n\n# Test harness\n' + harnessConfig(dir, lmtpPort, imapPort, protocols));
      try {
        await start();
        break;
      } catch (err) {
        if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
        rmSync(logFile, { force: true });
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }

  return {
    dir,
    lmtpPort,
    imapPort,
    running,
    start,
    stop,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    log,
  };
}
