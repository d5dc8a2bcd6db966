/**
 * Structured logs: pino JSON lines on stdout. Secrets are redacted by path so a careless field
 * never leaks a password or key.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'kagami' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'pass', '*.pass', 'key', '*.privateKey'], censor: '[redacted]' },
    },
    destination ?? process.stdout,
  );
}
