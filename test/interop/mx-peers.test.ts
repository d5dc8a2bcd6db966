/**
 * Real peers send to the real MX: swaks (Perl) and Python's smtplib, over STARTTLS and in clear.
 * The message must land in the recipient's Maildir new/ byte for byte, apart from the
 * Return-Path and Received fields Kagami prepends.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitForMail, withoutTrace, type TestServer } from '../support/server.js';

const SWAKS = '/usr/bin/swaks';
const PYTHON = '/usr/bin/python3';

let t: TestServer;
beforeAll(async () => {
  for (const peer of [SWAKS, PYTHON]) {
    // A missing peer fails the run, never skips it: `bash .ci/run` installs them.
    if (!existsSync(peer)) throw new Error(`${peer} is missing: apt-get install swaks python3`);
  }
  t = await startTestServer();
});
afterAll(async () => t?.stop());

function runPeer(cmd: string, args: string[], input: Buffer): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
    child.stdin.end(input);
  });
}

const message = (to: string, id: string) =>
  Buffer.from(
    [
      'From: Sender <sender@example.org>',
      `To: ${to}`,
      'Subject: interop check',
      `Message-ID: <${id}@example.org>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Grüße aus dem Test.',
      '.a line that starts with a dot',
      '..two dots',
      'trailing spaces   ',
      '',
    ].join('\r\n'),
    'utf8',
  );

describe('swaks', () => {
  for (const tls of [true, false]) {
    it(`delivers ${tls ? 'over STARTTLS' : 'in clear'} to Maildir new/, byte-exact after the trace fields`, async () => {
      const to = tls ? 'alice@example.test' : 'Bob+news@Example.TEST';
      const body = message(to, `swaks-${tls}`);
      const args = ['--server', `127.0.0.1:${t.smtpPort}`, '--ehlo', 'client.example', '--from', 'sender@example.org', '--to', to, '--data', '-'];
      // swaks ends DATA with CRLF.CRLF after what it is given, so it gets the body without its last CRLF.
      const { code, out } = await runPeer(SWAKS, tls ? [...args, '--tls'] : args, body.subarray(0, -2));
      expect(out).toMatch(/<[~-]  250 2\.0\.0 Ok: queued as [0-9A-Z]{20}/);
      expect(code).toBe(0);
      const [stored] = await waitForMail(t.newDir(tls ? 'alice@example.test' : 'bob@example.test'), 1);
      const text = stored!.toString('latin1');
      expect(text).toMatch(
        new RegExp(
          `^Return-Path: <sender@example\\.org>\\r\\nAuthentication-Results: mx\\.localhost\\.test;[^]*?\\r\\nReceived: from client\\.example \\(\\[127\\.0\\.0\\.1\\]\\)\\r\\n` +
            `\\tby mx\\.localhost\\.test \\(Kagami\\) with ${tls ? 'ESMTPS' : 'ESMTP'} id [0-9A-Z]{20}`,
        ),
      );
      expect(withoutTrace(stored!).toString('hex')).toBe(body.toString('hex'));
    });
  }
});

describe("Python's smtplib", () => {
  it('sends one message to two recipients with STARTTLS; each Maildir gets it once', async () => {
    const body = message('carol@example.test, dave@example.test', 'smtplib');
    const script = `
import smtplib, ssl, sys
data = sys.stdin.buffer.read()
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
with smtplib.SMTP('127.0.0.1', ${t.smtpPort}, local_hostname='py.example') as s:
    s.starttls(context=ctx)
    s.ehlo('py.example')
    refused = s.sendmail('sender@example.org', ['carol@example.test', 'dave@example.test'], data)
    print('refused', refused)
`;
    const { code, out } = await runPeer(PYTHON, ['-c', script], body);
    expect(out).toContain('refused {}');
    expect(code).toBe(0);
    for (const who of ['carol@example.test', 'dave@example.test']) {
      const stored = await waitForMail(t.newDir(who), 1);
      expect(stored).toHaveLength(1);
      expect(withoutTrace(stored[0]!).equals(body)).toBe(true);
      // Two recipients: the Received field names neither (RFC 5321 7.2).
      expect(stored[0]!.toString('latin1')).not.toMatch(/for </);
    }
  });
});
