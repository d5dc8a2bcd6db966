/**
 * One SMTP or LMTP transaction with nodemailer's SMTPConnection: connect, (STARTTLS), send,
 * quit. Per-recipient results come back as a closed union so the queue can tell delivered,
 * temporary and permanent failures apart (RFC 5321 4.2.1: 4xx retry, 5xx give up).
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export type RecipientResult =
  /** `localAddress`: our end of the connection, the source IP the peer saw (absent over a Unix socket). */
  | { result: 'delivered'; response: string; localAddress?: string }
  | { result: 'tempfail'; reason: string }
  | { result: 'permfail'; reason: string };

export interface SendOptions {
  host: string;
  port: number;
  /** A Unix socket (LMTP), instead of host and port. */
  socketPath?: string;
  /** TLS server name (the MX host name when `host` is an IP). */
  servername?: string;
  lmtp: boolean;
  /** Our name for EHLO/LHLO. */
  name: string;
  /** "" for the null reverse-path. */
  from: string;
  to: string[];
  /** Message bytes, written in order. */
  parts: Uint8Array[];
  size: number;
  /** Use STARTTLS when offered and go on in clear text if it fails (RFC 3207, opportunistic). */
  opportunisticTls: boolean;
  timeoutMs: number;
}

interface SmtpError extends Error {
  responseCode?: number;
  response?: string;
  code?: string;
}

function classify(err: SmtpError): RecipientResult {
  const text = (err.response ?? err.message).replace(/\s+/g, ' ').trim();
  if (err.responseCode && err.responseCode >= 500) return { result: 'permfail', reason: text };
  return { result: 'tempfail', reason: err.code && !err.responseCode ? `${err.code}: ${text}` : text };
}

export async function sendMessage(opts: SendOptions): Promise<Map<string, RecipientResult>> {
  const results = new Map<string, RecipientResult>();
  const socket = opts.socketPath ? net.connect(opts.socketPath) : undefined;
  // Over TCP we hand nodemailer an unconnected socket of our own ("socket" option), so its local
  // address (the source IP the peer saw, recorded for `kagami sources`) stays readable after STARTTLS.
  const tcp = socket ? undefined : new net.Socket();
  const connection = new SMTPConnection({
    host: opts.host,
    port: opts.port,
    ...(socket ? { connection: socket } : { socket: tcp }),
    ...(opts.servername ? { servername: opts.servername } : {}),
    lmtp: opts.lmtp,
    name: opts.name,
    ignoreTLS: !opts.opportunisticTls,
    opportunisticTLS: true,
    tls: { rejectUnauthorized: false },
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs * 4,
    logger: false,
  });
  const fail = (err: SmtpError) => {
    const r = classify(err);
    for (const to of opts.to) if (!results.has(to)) results.set(to, r);
    return results;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      connection.once('error', reject);
      connection.connect((err?: SmtpError | null) => (err ? reject(err) : resolve()));
    });
    const info = await new Promise<{ accepted: string[]; rejected: string[]; rejectedErrors?: SmtpError[]; response: string }>(
      (resolve, reject) => {
        connection.send(
          { from: opts.from || false, to: opts.to, size: opts.size, use8BitMime: true },
          Readable.from(opts.parts),
          (err: SmtpError | null, sent: unknown) => (err ? reject(err) : resolve(sent as never)),
        );
      },
    );
    const localAddress = tcp?.localAddress;
    for (const to of info.accepted) results.set(to, { result: 'delivered', response: info.response, ...(localAddress ? { localAddress } : {}) });
    info.rejected.forEach((to, i) => {
      const err = info.rejectedErrors?.find((e) => (e as { recipient?: string }).recipient === to) ?? info.rejectedErrors?.[i];
      results.set(to, err ? classify(err) : { result: 'tempfail', reason: 'rejected without a reply' });
    });
    connection.quit();
    return fail(new Error('no reply for this recipient'));
  } catch (err) {
    connection.close();
    // Every recipient refused at RCPT: nodemailer throws one error (preferring a 4xx reply) but
    // keeps each recipient's own reply, so a 550 is not retried for days because another got 451.
    const perRecipient = (err as { rejectedErrors?: Array<SmtpError & { recipient?: string }> }).rejectedErrors ?? [];
    for (const e of perRecipient) if (e.recipient && opts.to.includes(e.recipient)) results.set(e.recipient, classify(e));
    return fail(err as SmtpError);
  }
}
