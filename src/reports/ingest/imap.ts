/**
 * IMAP intake for DMARC aggregate and TLS reports (issue #5): an IMAP mailbox polled with imapflow.
 * Each poll reads the unseen messages of one folder, imports their reports (source "imap"), then
 * moves each processed message to `move_to` or flags it \Seen. A failed poll is logged with
 * KGM-REPORT-IMAP and retried at the next interval; it never stops the server.
 */
import { readFile } from 'node:fs/promises';
import { ImapFlow } from 'imapflow';
import type { KagamiConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/log.js';
import type { Store } from '../../store/types.js';
import { createPeriodicTask } from '../../core/periodic.js';
import { importMessageBytes, type IntakeLimits } from './files.js';

export type ImapIntakeConfig = NonNullable<KagamiConfig['reports']['imap']>;

export interface PollResult {
  /** Messages read from the folder. */
  fetched: number;
  stored: number;
  duplicates: number;
  rejected: number;
}

export interface ImapPoller {
  /** One poll; throws on a connection or protocol failure (the timer logs and retries). */
  pollOnce(): Promise<PollResult>;
  /** Polls now and then every `interval` seconds. */
  start(): void;
  /** Stops the timer and waits for a poll in progress. */
  stop(): Promise<void>;
}

export interface ImapPollerDeps {
  config: Readonly<ImapIntakeConfig>;
  store: Store;
  acceptDomain: (domain: string) => boolean;
  log: Logger;
  /** Bounds on each report mail (`[reports.limits]`); the intake's defaults without it. */
  limits?: IntakeLimits;
}

export function createImapPoller(deps: ImapPollerDeps): ImapPoller {
  const { config, store, acceptDomain, log } = deps;

  async function pollOnce(): Promise<PollResult> {
    const pass = (await readFile(config.password_file, 'utf8')).split(/\r?\n/)[0] ?? '';
    const client = new ImapFlow({
      host: config.host,
      port: config.port,
      secure: config.tls === 'implicit',
      doSTARTTLS: config.tls === 'starttls',
      auth: { user: config.user, pass },
      tls: { rejectUnauthorized: config.reject_unauthorized },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: 30_000,
    });
    // A socket error after connect is reported through the promise in progress; keep it off the process.
    client.on('error', (err: Error) => log.debug({ event: 'report-imap-socket', err: err.message }, 'IMAP socket error'));
    const result: PollResult = { fetched: 0, stored: 0, duplicates: 0, rejected: 0 };
    await client.connect();
    try {
      const lock = await client.getMailboxLock(config.folder);
      try {
        const uids = (await client.search({ seen: false }, { uid: true })) || [];
        for (const uid of uids) {
          const msg = await client.fetchOne(String(uid), { source: true, uid: true }, { uid: true });
          if (!msg || !msg.source) continue;
          result.fetched++;
          const s = await importMessageBytes(msg.source, `imap ${uid}`, { store, source: 'imap', acceptDomain, ...(deps.limits ? { limits: deps.limits } : {}) });
          result.stored += s.stored;
          result.duplicates += s.duplicates;
          result.rejected += s.rejected.length;
          for (const r of s.rejected) log.warn({ event: 'report-rejected', uid, code: r.code, reason: r.reason }, 'report refused');
          if (config.move_to) await client.messageMove(String(uid), config.move_to, { uid: true });
          else await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
        }
      } finally {
        lock.release();
      }
      await client.logout();
    } catch (err) {
      client.close();
      throw err;
    }
    if (result.fetched > 0) log.info({ event: 'report-imap', ...result }, 'IMAP reports read');
    return result;
  }

  const task = createPeriodicTask(pollOnce, config.interval, (err: unknown) => {
    const e = err as Error & { responseText?: string };
    log.error(
      { event: 'report-imap-failed', code: 'KGM-REPORT-IMAP', host: config.host, folder: config.folder, reason: e.responseText ?? e.message },
      'KGM-REPORT-IMAP: polling the IMAP mailbox failed; retrying at the next interval',
    );
  });

  return { pollOnce, start: task.start, stop: task.stop };
}
