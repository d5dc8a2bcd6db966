/**
 * Helpers for the end-to-end enforcement tests (test/protocol/smtp/{enforcement,spoofing,
 * dns-faults}.test.ts): send one message, then read where it went, what was prepended to it and
 * the verdict row recorded for it.
 */
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { signDkim } from '../../src/auth/dkim/sign.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { QuarantineEntry, VerdictRow } from '../../src/store/types.js';
import { listMail, waitForMail, type TestServer } from './server.js';
import { RawSmtp, type Reply } from './smtp.js';

export interface Envelope {
  mailFrom: string;
  rcpt: string;
  /** EHLO name; default client.example. */
  helo?: string;
}

/** One transaction: the DATA reply (RCPT TO must be accepted). */
export async function send(t: TestServer, envelope: Envelope, raw: string | Buffer): Promise<Reply> {
  const c = await RawSmtp.connect(t.smtpPort);
  try {
    const greeting = await c.greeted();
    if (greeting.code !== 220) throw new Error(`greeting: ${greeting.text}`);
    const ehlo = await c.ehlo(envelope.helo ?? 'client.example');
    if (ehlo.code !== 250) throw new Error(`EHLO: ${ehlo.text}`);
    const mail = await c.mailFrom(envelope.mailFrom);
    if (mail.code !== 250) throw new Error(`MAIL FROM: ${mail.text}`);
    const rcpt = await c.rcptTo(envelope.rcpt);
    if (rcpt.code !== 250) throw new Error(`RCPT TO: ${rcpt.text}`);
    return await c.data(typeof raw === 'string' ? raw : raw.toString('latin1'));
  } finally {
    await c.quit();
  }
}

/** A CRLF message from header lines and a body. */
export function message(headers: readonly string[], body = 'Please wire the funds today.\r\n'): Buffer {
  return Buffer.from(headers.join('\r\n') + '\r\n\r\n' + body, 'latin1');
}

/** The message with a DKIM-Signature of `domain` prepended. */
export function dkimSigned(raw: Buffer, domain: string, privateKeyPem: string, selector = 'sel'): Buffer {
  return Buffer.concat([Buffer.from(signDkim(raw, { domain, selector, privateKey: privateKeyPem, algorithm: 'ed25519-sha256' }), 'latin1'), raw]);
}

/** An RSA key for ARC (RFC 8617 4.1.3: rsa-sha256 only) and its DNS record. */
export function arcKey(): { privateKey: string; record: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), record: `v=DKIM1; k=rsa; p=${p}` };
}

async function withStore<T>(t: TestServer, f: (store: ReturnType<typeof openSqliteStore>) => Promise<T>): Promise<T> {
  const store = openSqliteStore({ file: path.join(t.dataDir, 'kagami.db') });
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** The verdict row of the (only) message sent to `rcpt`. */
export async function verdictFor(t: TestServer, rcpt: string): Promise<VerdictRow | undefined> {
  const rows = await withStore(t, (s) => s.listVerdicts());
  return rows.find((v) => v.recipients.includes(rcpt));
}

export async function quarantineFor(t: TestServer, rcpt: string): Promise<QuarantineEntry | undefined> {
  const rows = await withStore(t, (s) => s.listQuarantine({ state: 'all' }));
  return rows.find((q) => q.address === rcpt);
}

export type Folder = 'INBOX' | 'Junk' | 'nowhere';

/**
 * Where the message for `rcpt` went. An accepted message (2xx) is waited for in INBOX and Junk;
 * a refused one must be in neither.
 */
export async function landed(t: TestServer, rcpt: string, accepted: boolean): Promise<{ folder: Folder; text: string | null }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const inbox = await listMail(t.newDir(rcpt));
    const junk = await listMail(t.newDir(rcpt, 'Junk'));
    if (inbox.length + junk.length > 1) throw new Error(`${rcpt}: ${inbox.length} in INBOX and ${junk.length} in Junk`);
    if (inbox.length === 1) return { folder: 'INBOX', text: (await waitForMail(t.newDir(rcpt)))[0]!.toString('latin1') };
    if (junk.length === 1) return { folder: 'Junk', text: (await waitForMail(t.newDir(rcpt, 'Junk')))[0]!.toString('latin1') };
    if (!accepted) return { folder: 'nowhere', text: null };
    if (Date.now() > deadline) throw new Error(`${rcpt}: accepted but delivered to neither INBOX nor Junk`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The value of the first header field `name` (unfolded), or null. */
export function headerValue(text: string, name: string): string | null {
  const head = text.slice(0, text.indexOf('\r\n\r\n') + 2);
  const m = new RegExp(`(?:^|\\r\\n)${name}:[ \\t]?((?:[^\\r]|\\r\\n[ \\t])*)\\r\\n`, 'i').exec(head);
  return m ? m[1]!.replace(/\r\n(?=[ \t])/g, '') : null;
}

/** The names of the header fields Kagami prepended, in order (up to and including Received). */
export function prependedFields(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split('\r\n')) {
    if (line === '' || /^[ \t]/.test(line)) continue;
    const name = line.slice(0, line.indexOf(':'));
    names.push(name);
    if (name === 'Received') break;
  }
  return names;
}

/** The policy part of a verdict row's detail. */
export function policyDetail(v: VerdictRow): {
  action: string;
  reason: string;
  appliedPolicy: string | null;
  override: { type: string; comment: string } | null;
  shadow: { action: string; reason: string } | null;
} {
  return (v.detail as { policy: ReturnType<typeof policyDetail> }).policy;
}
