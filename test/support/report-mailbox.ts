/**
 * Report mail for the intake tests: a message carrying one report attachment, and a real Dovecot
 * IMAP mailbox (one user, password login, Maildir) to put such mail in.
 */
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ImapFlow } from 'imapflow';
import { MAIL_GID, MAIL_UID, requireDovecot, startDovecot, type Dovecot } from './dovecot.js';
import { tempDir } from './server.js';

/** A report mail from a receiver: a short text part and one base64 attachment. CRLF throughout. */
export function reportMail(opts: { id: string; to: string; subject: string; attachment: Buffer; filename: string; type: string }): Buffer {
  const b64 = opts.attachment.toString('base64').replace(/.{1,76}/g, '$&\r\n');
  return Buffer.from(
    [
      'From: noreply-dmarc@receiver.example',
      `To: ${opts.to}`,
      `Subject: ${opts.subject}`,
      `Message-ID: <${opts.id}@receiver.example>`,
      'Date: Fri, 04 Dec 2026 12:00:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'A report.',
      '--b1',
      `Content-Type: ${opts.type}; name="${opts.filename}"`,
      `Content-Disposition: attachment; filename="${opts.filename}"`,
      'Content-Transfer-Encoding: base64',
      '',
      b64 + '--b1--',
      '',
    ].join('\r\n'),
  );
}

export interface ImapMailbox {
  dovecot: Dovecot;
  port: number;
  /** A logged-out client for the mailbox's user; connect() it. */
  client(): ImapFlow;
  close(): Promise<void>;
}

/** A Dovecot serving IMAP (no TLS) on a free port for one user, mail in a temporary Maildir. */
export async function startImapMailbox(user: string, password: string): Promise<ImapMailbox> {
  requireDovecot();
  const mailRoot = tempDir('kagami-imap-mail-');
  chmodSync(mailRoot, 0o755);
  chownSync(mailRoot, MAIL_UID, MAIL_GID);
  const dovecot = await startDovecot({
    listeners: ['imap'],
    config: (dir) => {
      const passwd = path.join(dir, 'users.passwd');
      writeFileSync(passwd, `${user}:{PLAIN}${password}\n`, { mode: 0o644 });
      return `
mail_location = maildir:${mailRoot}/%d/%n
passdb {
  driver = passwd-file
  args = ${passwd}
}
userdb {
  driver = static
  args = uid=${MAIL_UID} gid=${MAIL_GID} home=${mailRoot}/%d/%n
}
`;
    },
  });
  return {
    dovecot,
    port: dovecot.imapPort,
    client: () => new ImapFlow({ host: '127.0.0.1', port: dovecot.imapPort, secure: false, doSTARTTLS: false, auth: { user, pass: password }, logger: false }),
    close: () => dovecot.close(),
  };
}
