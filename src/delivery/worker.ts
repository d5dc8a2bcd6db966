/**
 * The delivery worker: takes queued recipients (right after acceptance, or when a retry is due),
 * delivers each message's recipients with one read of its spool file, and records outcomes with
 * group commit. A temporary failure is retried on the configured schedule until delivery.max_age,
 * then bounced; a permanent one is bounced at once. A message whose recipients are all done has
 * its spool file removed.
 */
import type { DeliveryConfig } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { createGroupCommit } from '../core/group-commit.js';
import type { DnsResolver } from '../dns/types.js';
import { stripForgedAuthResults } from '../message/forged-authres.js';
import { formatReturnPath } from '../message/trace.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import { sendMessage, type RecipientResult } from '../smtp/client/send.js';
import type { DeliveryOutcome, NewMessage, PendingDelivery, Store } from '../store/types.js';
import { deliveryTag, type MaildirDelivery } from './maildir.js';
import { deliverRemote } from './remote.js';
import type { Spool } from './spool.js';

export interface DeliveryWorker {
  /** Loads what is due from the store (recovery after a restart) and starts the retry timer. */
  start(): Promise<void>;
  /** Hands freshly committed messages to the worker without a store round trip. */
  notify(messages: readonly NewMessage[]): void;
  /** Finishes deliveries in progress and stops taking new ones. */
  stop(): Promise<void>;
  /** Resolves when nothing is ready or in flight. */
  idle(): Promise<void>;
}

export interface WorkerDeps {
  store: Store;
  /** Reads a message sent to a report address (route "reports") into the report store. */
  ingestReport?: (message: Buffer, queueId: string) => Promise<RecipientResult>;
  spool: Spool;
  maildir: MaildirDelivery;
  resolver: DnsResolver;
  config: Readonly<DeliveryConfig>;
  hostname: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

const key = (d: { messageId: string; idx: number }) => `${d.messageId}:${d.idx}`;

/** A folder over LMTP is a +detail (Dovecot's lmtp_save_to_detail_mailbox): alice+Junk@example.com. */
function lmtpAddress(item: PendingDelivery): string {
  if (!item.folder) return item.mailbox;
  const at = item.mailbox.lastIndexOf('@');
  return `${item.mailbox.slice(0, at)}+${item.folder}${item.mailbox.slice(at)}`;
}

/** A complete spool file starts with our Return-Path line; a relay or LMTP server must not get it. */
function withoutReturnPath(message: Buffer): Buffer {
  if (message.subarray(0, 12).toString('latin1') !== 'Return-Path:') return message;
  const eol = message.indexOf('\r\n');
  return eol < 0 ? message : message.subarray(eol + 2);
}
const POLL_MS = 30_000;
const PURGE_MS = 3_600_000;

export function createDeliveryWorker(deps: WorkerDeps): DeliveryWorker {
  const { store, spool, config, clock, log, metrics } = deps;
  const ready = new Map<string, PendingDelivery[]>();
  const known = new Set<string>();
  /** Bytes of freshly accepted messages, so their first delivery does not read the spool back. */
  const contents = new Map<string, Buffer>();
  /** Recipients loaded from the store at start: a previous process may have delivered them. */
  const recovered = new Set<string>();
  let active = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  let purgeTimer: NodeJS.Timeout | null = null;
  let idleWaiters: Array<() => void> = [];

  let timerAt = Infinity;

  const outcomes = createGroupCommit<DeliveryOutcome & { route: PendingDelivery['route'] }>(async (batch) => {
    // A lost Maildir outcome is harmless: the next attempt finds the file by its tag (and needs
    // no spool file to do so), so those commits skip their fsync. LMTP and remote deliveries
    // have no such check: their outcomes are committed durably.
    const durable = batch.some((o) => o.route !== 'maildir');
    const done = await store.recordOutcomes(
      batch.map(({ route: _route, ...o }) => o),
      { durable },
    );
    await Promise.all(done.map((id) => spool.remove(id)));
    // A retry due before the timer fires moves the timer forward.
    const soonest = Math.min(...batch.map((o) => (o.state === 'deferred' ? o.nextAttemptAt : Infinity)));
    if (soonest < timerAt) schedule();
  });

  function add(items: PendingDelivery[]): void {
    for (const item of items) {
      const k = key(item);
      if (known.has(k)) continue;
      known.add(k);
      const list = ready.get(item.messageId) ?? [];
      list.push(item);
      ready.set(item.messageId, list);
    }
    metrics.queueDepth.set(known.size);
    pump();
  }

  function notify(messages: readonly NewMessage[]): void {
    if (stopping) return;
    // Bounded: past that the spool is read back, as for retries.
    for (const m of messages) if (m.content && contents.size < 2 * config.concurrency + 256) contents.set(m.id, m.content);
    add(
      messages.flatMap((m) =>
        m.recipients.map((r, idx) => ({
          messageId: m.id,
          idx,
          address: r.address,
          route: r.route,
          mailbox: r.mailbox,
          ...(r.folder ? { folder: r.folder } : {}),
          attempts: 0,
          mailFrom: m.mailFrom,
          receivedAt: m.receivedAt,
          traceHeaders: m.traceHeaders,
          spoolComplete: Boolean(m.spoolComplete),
          size: m.size,
        })),
      ),
    );
  }

  function pump(): void {
    while (!stopping && active < config.concurrency && ready.size > 0) {
      const [messageId, items] = ready.entries().next().value as [string, PendingDelivery[]];
      ready.delete(messageId);
      active++;
      deliverMessage(messageId, items)
        .catch((err: unknown) => log.error({ err, queueId: messageId }, 'delivery worker failed'))
        .finally(() => {
          active--;
          for (const i of items) known.delete(key(i));
          metrics.queueDepth.set(known.size);
          pump();
          if (active === 0 && ready.size === 0) {
            const waiters = idleWaiters;
            idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }

  function outcomeFor(item: PendingDelivery, r: RecipientResult, now: number): DeliveryOutcome {
    const base = { messageId: item.messageId, idx: item.idx, at: now };
    if (r.result === 'delivered') return { ...base, state: 'delivered' };
    if (r.result === 'permfail') return { ...base, state: 'bounced', error: r.reason };
    const attempts = item.attempts + 1;
    if (now - item.receivedAt >= config.max_age * 1000) {
      return { ...base, state: 'bounced', error: `gave up after ${attempts} attempts: ${r.reason}` };
    }
    const interval = config.retry_intervals[Math.min(attempts - 1, config.retry_intervals.length - 1)]!;
    return { ...base, state: 'deferred', nextAttemptAt: now + interval * 1000, error: r.reason };
  }

  async function deliverLocal(item: PendingDelivery, body: Buffer): Promise<RecipientResult> {
    const tag = deliveryTag(item.messageId, item.idx);
    const k = key(item);
    const folder = item.folder ? { folder: item.folder } : {};
    if ((recovered.has(k) || item.attempts > 0) && (await deps.maildir.hasDelivered({ mailbox: item.mailbox, tag, ...folder }))) {
      log.info({ queueId: item.messageId, rcpt: item.address, mailbox: item.mailbox }, 'already in the Maildir; not delivered again');
      return { result: 'delivered', response: 'found in Maildir after restart' };
    }
    try {
      if (item.spoolComplete) {
        await deps.maildir.deliverFile({ mailbox: item.mailbox, tag, ...folder, file: spool.pathOf(item.messageId), size: body.length });
      } else {
        const parts = [Buffer.from(formatReturnPath(item.mailFrom) + item.traceHeaders, 'latin1'), body];
        await deps.maildir.deliver({ mailbox: item.mailbox, tag, ...folder, parts });
      }
      return { result: 'delivered', response: 'Maildir' };
    } catch (err) {
      return { result: 'tempfail', reason: `KGM-DELIVERY-MAILDIR: ${(err as Error).message}` };
    }
  }

  async function deliverGroup(items: PendingDelivery[], body: Buffer): Promise<Map<PendingDelivery, RecipientResult>> {
    const results = new Map<PendingDelivery, RecipientResult>();
    const first = items[0]!;
    // LMTP and SMTP peers get the trace fields but not Return-Path, which the final delivery adds.
    const parts = first.spoolComplete ? [withoutReturnPath(body)] : [Buffer.from(first.traceHeaders, 'latin1'), body];
    const size = parts.reduce((n, p) => n + p.length, 0);
    const byRoute = { lmtp: [] as PendingDelivery[], remote: new Map<string, PendingDelivery[]>() };
    let ingested: RecipientResult | null = null;
    for (const item of items) {
      if (item.route === 'reports') {
        // One message read once, however many report addresses it was sent to.
        ingested ??= deps.ingestReport
          ? await deps.ingestReport(body, item.messageId).catch((err: unknown) => ({ result: 'tempfail' as const, reason: `report intake failed: ${(err as Error).message}` }))
          : { result: 'permfail', reason: 'report intake is not configured' };
        results.set(item, ingested);
      } else if (item.route === 'maildir') results.set(item, await deliverLocal(item, body));
      else if (item.route === 'lmtp') byRoute.lmtp.push(item);
      else {
        const domain = item.mailbox.slice(item.mailbox.lastIndexOf('@') + 1);
        byRoute.remote.set(domain, [...(byRoute.remote.get(domain) ?? []), item]);
      }
    }
    if (byRoute.lmtp.length > 0) {
      const lmtp = config.lmtp;
      const r = await sendMessage({
        host: lmtp.host,
        port: lmtp.port,
        ...(lmtp.socket ? { socketPath: lmtp.socket } : {}),
        lmtp: true,
        name: deps.hostname,
        from: first.mailFrom,
        to: byRoute.lmtp.map(lmtpAddress),
        parts,
        size,
        opportunisticTls: false,
        timeoutMs: config.timeout * 1000,
      });
      for (const item of byRoute.lmtp) {
        const res = r.get(lmtpAddress(item)) ?? { result: 'tempfail', reason: 'no LMTP reply' };
        results.set(item, res.result === 'delivered' ? res : { ...res, reason: `KGM-DELIVERY-LMTP: ${res.reason}` });
      }
    }
    for (const [domain, group] of byRoute.remote) {
      const r = await deliverRemote(
        { resolver: deps.resolver, hostname: deps.hostname, port: config.remote_port, timeoutMs: config.timeout * 1000 },
        domain,
        { from: first.mailFrom, to: group.map((i) => i.mailbox), parts, size },
      );
      for (const item of group) {
        const res = r.get(item.mailbox) ?? { result: 'tempfail', reason: 'no reply' };
        results.set(item, res.result === 'delivered' ? res : { ...res, reason: `KGM-DELIVERY-REMOTE: ${res.reason}` });
      }
      // The address the receiver saw us send from: DMARC reports list it, and `kagami sources` calls it ours.
      const sentFrom = [...r.values()].find((x) => x.result === 'delivered' && x.localAddress);
      if (sentFrom?.result === 'delivered' && sentFrom.localAddress) {
        const ip = sentFrom.localAddress.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
        await store.recordOutboundSources([{ ip, at: clock.now() }]).catch((err: unknown) => log.warn({ err, ip }, 'could not record the outbound source address'));
      }
    }
    return results;
  }

  async function deliverMessage(messageId: string, items: PendingDelivery[]): Promise<void> {
    let body: Buffer;
    const inMemory = contents.get(messageId);
    contents.delete(messageId);
    try {
      body = inMemory ?? (await spool.read(messageId));
    } catch (err) {
      // The spool file is removed once every recipient is done; missing, it was removed after a
      // commit the crash lost (Maildir), or something else removed it.
      log.warn({ err, queueId: messageId }, 'spool file missing for a queued message; looking for delivered copies');
      const now = clock.now();
      await Promise.all(
        items.map(async (i) => {
          // After a crash the spool file may be gone with the outcome not yet on disk: the
          // Maildir copy, found by its tag, settles it.
          const found =
            i.route === 'maildir' &&
            (await deps.maildir.hasDelivered({ mailbox: i.mailbox, tag: deliveryTag(i.messageId, i.idx), ...(i.folder ? { folder: i.folder } : {}) }));
          const r: RecipientResult = found ? { result: 'delivered', response: 'found in Maildir' } : { result: 'tempfail', reason: 'spool file unreadable' };
          return outcomes.submit({ ...outcomeFor(i, r, now), route: i.route });
        }),
      );
      return;
    }
    // A complete spool file was cleaned at acceptance and already holds our own results.
    const content = items[0]!.spoolComplete ? body : stripForgedAuthResults(body, deps.hostname);
    const results = await deliverGroup(items, content);
    const now = clock.now();
    await Promise.all(
      items.map((item) => {
        const r = results.get(item)!;
        const outcome = outcomeFor(item, r, now);
        recovered.delete(key(item));
        metrics.deliveries.inc({ route: item.route, result: outcome.state });
        if (outcome.state === 'delivered') {
          metrics.deliveryLatency.observe({ route: item.route }, (now - item.receivedAt) / 1000);
          log.info({ event: 'delivery', queueId: messageId, rcpt: item.address, route: item.route, mailbox: item.mailbox, result: 'delivered', delayMs: now - item.receivedAt }, 'delivered');
        } else {
          const level = outcome.state === 'bounced' ? 'warn' : 'info';
          log[level]({ event: 'delivery', queueId: messageId, rcpt: item.address, route: item.route, result: outcome.state, attempts: item.attempts + 1, error: outcome.error }, outcome.state);
        }
        return outcomes.submit({ ...outcome, route: item.route });
      }),
    );
  }

  async function poll(): Promise<void> {
    if (stopping) return;
    const due = await store.dueDeliveries(clock.now(), 1000);
    add(due);
    schedule();
  }

  function schedule(): void {
    if (stopping) return;
    if (timer) clearTimeout(timer);
    void store.nextAttemptAt().then((next) => {
      if (stopping) return;
      const wait = next === null ? POLL_MS : Math.min(POLL_MS, Math.max(50, next - clock.now()));
      if (timer) clearTimeout(timer);
      timerAt = clock.now() + wait;
      timer = setTimeout(() => void poll().catch((err: unknown) => log.error({ err }, 'queue poll failed')), wait);
      timer.unref();
    });
  }

  async function purge(): Promise<void> {
    const ids = await store.purgeDone(clock.now() - config.retain_done_hours * 3_600_000);
    await Promise.all(ids.map((id) => spool.remove(id)));
    if (ids.length > 0) log.info({ purged: ids.length }, 'purged delivered and bounced messages from the queue');
  }

  async function start(): Promise<void> {
    // What the last process left. A first attempt may have reached the Maildir just before a
    // crash without being recorded: those are checked for their file before delivering (later
    // attempts are always checked).
    const due = await store.dueDeliveries(clock.now(), 100_000);
    for (const d of due) recovered.add(key(d));
    add(due);
    if (due.length > 0) log.info({ recipients: due.length }, 'recovered queued recipients from the last run');
    await purge().catch((err: unknown) => log.error({ err }, 'queue purge failed'));
    purgeTimer = setInterval(() => void purge().catch((err: unknown) => log.error({ err }, 'queue purge failed')), PURGE_MS);
    purgeTimer.unref();
    schedule();
  }

  async function idle(): Promise<void> {
    if (active === 0 && ready.size === 0) return outcomes.idle();
    await new Promise<void>((r) => idleWaiters.push(r));
    await outcomes.idle();
  }

  async function stop(): Promise<void> {
    stopping = true;
    if (timer) clearTimeout(timer);
    if (purgeTimer) clearInterval(purgeTimer);
    ready.clear();
    contents.clear();
    while (active > 0) await new Promise((r) => setTimeout(r, 10));
    await outcomes.idle();
  }

  return { start, notify, stop, idle };
}
