/**
 * The MX listener: smtp-server set up for receiving from the internet (no AUTH, STARTTLS
 * offered, SIZE/PIPELINING/8BITMIME/SMTPUTF8/ENHANCEDSTATUSCODES), with the per-IP connection
 * limit and graceful close. What to do with each command is the pipeline's job (handlers).
 */
import type { Readable } from 'node:stream';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { smtpReply } from '../../core/errors.js';
import type { LimitsConfig } from '../../config/schema.js';
import { KagamiSmtpServer } from './engine.js';

/** A reply that refuses a command: basic code and text that starts with the enhanced code. */
export interface SmtpRefusal {
  responseCode: number;
  message: string;
}

export interface MxHandlers {
  /** `openFromAddress` counts the client's open connections, this one included. */
  onConnect(session: SMTPServerSession, openFromAddress: number): Promise<SmtpRefusal | null>;
  onMailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<SmtpRefusal | null>;
  onRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<SmtpRefusal | null>;
  /** Consumes the whole stream; resolves to the 250 text or a refusal. */
  onData(stream: Readable, session: SMTPServerSession): Promise<{ ok: string } | SmtpRefusal>;
  onClose(session: SMTPServerSession): void;
}

export interface MxListener {
  server: KagamiSmtpServer;
  listen(port: number, host: string): Promise<number>;
  updateTls(cert: Buffer, key: Buffer): void;
  /** Stops accepting, lets transactions in DATA finish (up to `graceMs`), then closes the rest with 421. */
  close(graceMs: number): Promise<void>;
  /** Transactions between DATA and the final reply. */
  inFlight(): number;
}

function toError(refusal: SmtpRefusal): Error & { responseCode: number } {
  return Object.assign(new Error(refusal.message), { responseCode: refusal.responseCode });
}

export function createMxListener(opts: {
  hostname: string;
  limits: LimitsConfig;
  cert: Buffer;
  key: Buffer;
  handlers: MxHandlers;
}): MxListener {
  const { limits, handlers } = opts;
  let dataInFlight = 0;
  const server = new KagamiSmtpServer(
    {
      name: opts.hostname,
      banner: 'Kagami',
      size: limits.message_size,
      authOptional: true,
      disabledCommands: ['AUTH'],
      key: opts.cert.length ? opts.key : undefined,
      cert: opts.cert.length ? opts.cert : undefined,
      disableReverseLookup: true,
      hideDSN: true,
      hideENHANCEDSTATUSCODES: false,
      hideREQUIRETLS: true,
      maxClients: limits.connections,
      socketTimeout: limits.idle_timeout * 1000,
      closeTimeout: 30_000,
      logger: false,
      onConnect(session, cb) {
        // Counted from the server's own set, which drops a connection the moment its socket
        // closes; a count kept in onClose lags by a turn and refuses clients that reconnect fast.
        let open = 0;
        for (const c of server.connections) {
          if ((c as unknown as { remoteAddress: string }).remoteAddress === session.remoteAddress) open++;
        }
        handlers.onConnect(session, open).then((r) => cb(r ? toError(r) : undefined), cb);
      },
      onMailFrom(address, session, cb) {
        handlers.onMailFrom(address, session).then((r) => cb(r ? toError(r) : undefined), cb);
      },
      onRcptTo(address, session, cb) {
        if (session.envelope.rcptTo.length >= limits.recipients) {
          cb(toError(smtpReply('KGM-RCPT-TOO-MANY')));
          return;
        }
        handlers.onRcptTo(address, session).then((r) => cb(r ? toError(r) : undefined), cb);
      },
      onData(stream: SMTPServerDataStream, session, cb) {
        dataInFlight++;
        handlers
          .onData(stream, session)
          .then(
            (r) => ('ok' in r ? cb(null, r.ok) : cb(toError(r))),
            (err: unknown) => cb(err as Error),
          )
          .finally(() => dataInFlight--);
      },
      onClose(session) {
        handlers.onClose(session);
      },
    },
    0,
  );

  server.on('error', () => {
    // Socket errors of single clients (resets, TLS failures) are not server failures; the
    // connection's own close handler records them.
  });

  function listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.server.once('error', onError);
      server.listen(port, host, () => {
        server.server.off('error', onError);
        const address = server.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  async function close(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => server.server.close(() => resolve()));
    const deadline = Date.now() + graceMs;
    while (dataInFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const connection of server.connections) {
      const c = connection as unknown as { send(code: number, text: string): void; close(): void };
      c.send(421, smtpReply('KGM-SHUTTING-DOWN').message);
      c.close();
    }
    await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
  }

  return {
    server,
    listen,
    updateTls: (cert, key) => server.updateSecureContext({ cert, key }),
    close,
    inFlight: () => dataInFlight,
  };
}
