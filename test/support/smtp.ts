/**
 * A raw SMTP client for protocol tests: exact bytes on the wire, one reply at a time.
 * Steps read like the session: greeted() → ehlo() → mailFrom() → rcptTo() → data().
 */
import net from 'node:net';

export interface Reply {
  code: number;
  lines: string[];
  text: string;
}

export class RawSmtp {
  private buffer = '';
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new RawSmtp(socket)));
      socket.once('error', reject);
    });
  }

  /** Reads one (possibly multi-line) reply. */
  async reply(timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines: string[] = [];
      let offset = 0;
      for (;;) {
        const end = this.buffer.indexOf('\r\n', offset);
        if (end < 0) break;
        const line = this.buffer.slice(offset, end);
        lines.push(line);
        offset = end + 2;
        if (/^\d{3} /.test(line) || /^\d{3}$/.test(line)) {
          this.buffer = this.buffer.slice(offset);
          return { code: Number(line.slice(0, 3)), lines, text: lines.map((l) => l.slice(4)).join('\n') };
        }
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms; buffer: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  async command(line: string): Promise<Reply> {
    this.write(line + '\r\n');
    return this.reply();
  }

  async greeted(): Promise<Reply> {
    return this.reply();
  }

  async ehlo(name = 'client.example'): Promise<Reply> {
    return this.command(`EHLO ${name}`);
  }

  async mailFrom(address: string): Promise<Reply> {
    return this.command(`MAIL FROM:<${address}>`);
  }

  async rcptTo(address: string): Promise<Reply> {
    return this.command(`RCPT TO:<${address}>`);
  }

  /** DATA, then the given bytes as they are (the caller adds dot-stuffing and the terminator). */
  async dataRaw(bytes: string | Buffer): Promise<Reply> {
    const go = await this.command('DATA');
    if (go.code !== 354) return go;
    this.write(bytes);
    return this.reply();
  }

  /** DATA with a CRLF message, dot-stuffed and terminated. */
  async data(message: string): Promise<Reply> {
    const stuffed = message.replace(/(^|\r\n)\./g, '$1..');
    return this.dataRaw(stuffed + (stuffed.endsWith('\r\n') ? '' : '\r\n') + '.\r\n');
  }

  async quit(): Promise<void> {
    if (!this.closed) {
      this.write('QUIT\r\n');
      await this.reply().catch(() => undefined);
    }
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** A session that is ready for MAIL FROM. */
export async function openSession(port: number): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  const greeting = await c.greeted();
  if (greeting.code !== 220) throw new Error(`greeting: ${greeting.lines.join(' | ')}`);
  const ehlo = await c.ehlo();
  if (ehlo.code !== 250) throw new Error(`EHLO: ${ehlo.lines.join(' | ')}`);
  return c;
}
