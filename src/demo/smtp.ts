/**
 * The demo's sender: one plain SMTP transaction (RFC 5321 3.3) over 127.0.0.1, returning the
 * reply that decided the message's fate (the end-of-DATA reply, or the first refusal), exactly
 * as the server wrote it. No STARTTLS: the demo talks to its own server on the loopback.
 */
import net from 'node:net';

/** One SMTP reply: "550 5.7.1 DMARC policy of …" with a multi-line reply's lines joined by spaces. */
export interface SmtpReply {
  code: number;
  text: string;
}

export type SmtpStage = 'connect' | 'greeting' | 'ehlo' | 'mail' | 'rcpt' | 'data' | 'message';

export interface SendResult {
  /** Where the transaction ended: `message` after the end of DATA, else the step that failed. */
  stage: SmtpStage;
  reply: SmtpReply;
}

export interface DemoSendOptions {
  host: string;
  port: number;
  helo: string;
  mailFrom: string;
  rcptTo: string;
  /** CRLF message bytes, not yet dot-stuffed. */
  message: Buffer;
  timeoutMs: number;
}

export async function sendDemoMessage(o: DemoSendOptions): Promise<SendResult> {
  let socket: net.Socket;
  try {
    socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: o.host, port: o.port }, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    return { stage: 'connect', reply: { code: 0, text: (err as Error).message } };
  }
  const replies = replyReader(socket, o.timeoutMs);
  const command = (line: string): Promise<SmtpReply> => {
    socket.write(line + '\r\n');
    return replies.next();
  };
  try {
    const steps: Array<[SmtpStage, () => Promise<SmtpReply>, number]> = [
      ['greeting', () => replies.next(), 220],
      ['ehlo', () => command(`EHLO ${o.helo}`), 250],
      ['mail', () => command(`MAIL FROM:<${o.mailFrom}>`), 250],
      ['rcpt', () => command(`RCPT TO:<${o.rcptTo}>`), 250],
      ['data', () => command('DATA'), 354],
    ];
    for (const [stage, step, want] of steps) {
      const reply = await step();
      if (reply.code !== want) return { stage, reply };
    }
    // RFC 5321 4.5.2: a line starting with "." gets one more.
    const text = o.message.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
    socket.write(Buffer.from(text + (text.endsWith('\r\n') ? '' : '\r\n') + '.\r\n', 'latin1'));
    const reply = await replies.next();
    socket.write('QUIT\r\n');
    await replies.next().catch(() => undefined);
    return { stage: 'message', reply };
  } catch (err) {
    return { stage: 'message', reply: { code: 0, text: (err as Error).message } };
  } finally {
    socket.destroy();
  }
}

/** Reads replies in order; each `next()` waits for the final line ("NNN text") of the next one. */
function replyReader(socket: net.Socket, timeoutMs: number): { next(): Promise<SmtpReply> } {
  let buffer = '';
  let closed = false;
  let wake: (() => void) | null = null;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    wake?.();
  });
  socket.on('close', () => {
    closed = true;
    wake?.();
  });
  socket.on('error', () => undefined);

  function take(): SmtpReply | null {
    const lines: string[] = [];
    let offset = 0;
    for (;;) {
      const end = buffer.indexOf('\r\n', offset);
      if (end < 0) return null;
      const line = buffer.slice(offset, end);
      lines.push(line.slice(4));
      offset = end + 2;
      if (line.length < 4 || line[3] === ' ') {
        buffer = buffer.slice(offset);
        return { code: Number(line.slice(0, 3)), text: `${line.slice(0, 3)} ${lines.join(' ')}`.trim() };
      }
    }
  }

  async function next(): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = take();
      if (reply) return reply;
      if (closed) throw new Error('the server closed the connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    }
  }

  return { next };
}
