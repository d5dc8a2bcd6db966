/**
 * smtp-server, with two changes made by subclassing rather than by editing the package:
 *
 * 1. The greeting delay. smtp-server waits a fixed 100 ms before its 220 to catch clients that
 *    talk first. With one message per connection that caps a 20-session sender at ~200 msgs/s, so
 *    the delay is `greetingDelayMs` here (default 0; early talkers are still caught by the parser
 *    if they send before the 220 goes out).
 * 2. Enhanced status codes. smtp-server prefixes every reply with an enhanced code derived from
 *    the basic code (550 → 5.1.1). Kagami's catalogue gives the precise one (550 5.7.1 relaying
 *    denied), so a reply text that already starts with an enhanced code is sent as it is.
 */
import type { Socket } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;

interface ConnectionInternals {
  _setListeners(callback: () => void): void;
  _server: { connections: Set<unknown>; options: SMTPServerOptions };
  name: string;
}

class KagamiConnection extends SMTPConnection {
  greetingDelayMs = 0;

  override init(): void {
    const self = this as unknown as ConnectionInternals;
    self._setListeners(() => {
      const max = self._server.options.maxClients;
      if (max && self._server.connections.size > max) {
        this.send(421, `4.3.2 ${self.name} too many connected clients, try again in a moment`);
        return;
      }
      const timer = setTimeout(() => this.connectionReady(), this.greetingDelayMs);
      timer.unref();
    });
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (typeof data === 'string' && ENHANCED.test(data)) return super.send(code, data, false);
    return super.send(code, data, context);
  }
}

export class KagamiSmtpServer extends SMTPServer {
  private readonly greetingDelayMs: number;

  constructor(options: SMTPServerOptions, greetingDelayMs = 0) {
    super(options);
    this.greetingDelayMs = greetingDelayMs;
  }

  override connect(socket: Socket, socketOptions: unknown): void {
    const connection = new KagamiConnection(this, socket, socketOptions as never);
    connection.greetingDelayMs = this.greetingDelayMs;
    const internals = this as unknown as {
      connections: Set<unknown>;
      _onError(err: Error): void;
      _onClientConnect(data: unknown): void;
    };
    internals.connections.add(connection);
    connection.on('error', (err: Error) => internals._onError(err));
    connection.on('connect', (data: unknown) => internals._onClientConnect(data));
    connection.init();
  }
}
