/**
 * The composition root: the one place that builds concrete adapters (store, DNS, spool, Maildir,
 * listeners) from the frozen configuration and wires them together.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { KagamiConfig } from './config/schema.js';
import { DEFAULT_DOMAIN } from './config/schema.js';
import { systemClock, type Clock } from './core/clock.js';
import { KagamiError } from './core/errors.js';
import { buildResolver, dataPaths, localPolicyFrom, resolveDomains, sourceOptionsFrom } from './runtime.js';
import { createDirHandleSync, createDirSyncer } from './delivery/fsync.js';
import { createMaildirDelivery } from './delivery/maildir.js';
import { openSpool } from './delivery/spool.js';
import { createDeliveryWorker } from './delivery/worker.js';
import { createLogger, type Logger } from './observability/log.js';
import { createMetrics } from './observability/metrics.js';
import { createAcceptor } from './pipeline/acceptance.js';
import { createInboundHandlers } from './pipeline/inbound.js';
import { createMxListener } from './smtp/server/mx.js';
import { ensureSelfSigned, loadOperatorTls } from './smtp/server/tls.js';
import { openSqliteStore } from './store/sqlite.js';
import type { Store } from './store/types.js';
import { buildWebApp } from './web/app.js';
import { importMessageBytes, intakeLimits } from './reports/ingest/files.js';
import { createImapPoller } from './reports/ingest/imap.js';
import { dropPrivileges } from './privileges.js';
import { alertThresholdsFrom, createAlertRunner } from './analysis/alert-runner.js';
import { cachedReverseLookups, outboundAddresses } from './analysis/ptr-cache.js';
import { resolveRecipient, type RecipientPolicy } from './pipeline/recipients.js';

export interface Ports {
  smtp?: number;
  http?: number;
  pid: number;
}

export interface RunningServer {
  ports: Ports;
  domains: string[];
  /** Stops gracefully: refuses new connections, finishes transactions and deliveries in flight. */
  stop(): Promise<void>;
  /** Reloads the operator's certificate (SIGHUP). */
  reloadTls(): Promise<void>;
}

export { buildResolver, dataPaths, localPolicyFrom, resolveDomains } from './runtime.js';

async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, content, { mode: 0o644 });
  await fs.rename(tmp, file);
}

export async function startServer(
  config: Readonly<KagamiConfig>,
  options: { log?: Logger; clock?: Clock } = {},
): Promise<RunningServer> {
  const log = options.log ?? createLogger(config.log.level);
  const clock = options.clock ?? systemClock;
  const paths = dataPaths(config.data_dir);
  try {
    await fs.mkdir(config.data_dir, { recursive: true, mode: 0o700 });
    await fs.mkdir(paths.run, { recursive: true });
    await fs.mkdir(paths.mail, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new KagamiError('KGM-DATA-DIR', `${config.data_dir}: ${(err as Error).message}`);
  }

  const store = openSqliteStore({ file: paths.db });
  await store.migrate();
  const domains = await resolveDomains(config, store, true);
  const resolver = buildResolver(config);
  const spool = await openSpool(paths.spool);
  const metrics = createMetrics();
  const dirSyncer = createDirSyncer();

  // Spool files without a pending queue row were never acknowledged, or are done: remove them.
  for (const id of await spool.list()) {
    if ((await store.messageState(id)) !== 'pending') await spool.remove(id);
  }

  const tls = config.tls.cert && config.tls.key
    ? await loadOperatorTls(config.tls.cert, config.tls.key)
    : await ensureSelfSigned(config.data_dir, config.hostname);

  const maildir = createMaildirDelivery({ root: paths.mail, hostname: config.hostname, dirSyncer });
  const ourDomains = new Set(domains);
  const isOurs = (d: string) => {
    const name = d.toLowerCase().replace(/\.$/, '');
    return [...ourDomains].some((o) => name === o || name.endsWith('.' + o));
  };
  const worker = createDeliveryWorker({
    store,
    ingestReport: async (message, queueId) => {
      const s = await importMessageBytes(message, `mail ${queueId}`, { store, source: 'mail', acceptDomain: isOurs, limits: intakeLimits(config.reports.limits) });
      for (const r of s.rejected) log.warn({ event: 'report-rejected', queueId, code: r.code, reason: r.reason }, 'report refused');
      if (s.stored + s.duplicates > 0) log.info({ event: 'report', queueId, stored: s.stored, duplicates: s.duplicates }, 'report stored');
      return { result: 'delivered', response: `reports: ${s.stored} stored, ${s.duplicates} duplicate, ${s.rejected.length} refused` };
    },
    spool,
    maildir,
    resolver,
    config: config.delivery,
    hostname: config.hostname,
    clock,
    log,
    metrics,
  });
  const acceptor = createAcceptor({
    store,
    dirSyncer: createDirSyncer(createDirHandleSync(1)),
    spoolDir: paths.spool,
    onCommitted: (messages) => {
      metrics.groupCommitSize.observe(messages.length);
      worker.notify(messages);
    },
  });
  const localUsers = new Set(config.delivery.local_users.map((u) => u.toLowerCase()));
  const recipientPolicy: RecipientPolicy = {
    domains: new Set(domains),
    aliases: config.aliases,
    localUsers,
    unknownLocalUser: config.delivery.unknown_local_user,
    localRoute: config.delivery.mode,
    reportAddresses: new Set(config.reports.addresses.map((a) => a.toLowerCase())),
    deliverReports: config.reports.deliver,
    mailboxExists: (mailbox) => existsSync(path.join(paths.mail, mailbox)),
  };
  const handlers = createInboundHandlers({
    config,
    store,
    localPolicy: localPolicyFrom(config),
    spool,
    acceptor,
    resolver,
    clock,
    log,
    metrics,
    recipientPolicy,
  });
  const mx = createMxListener({ hostname: config.hostname, limits: config.limits, cert: tls.cert, key: tls.key, handlers });
  let stopping = false;
  const web = buildWebApp({ metrics, ready: () => !stopping });

  const ports: Ports = { pid: process.pid };
  try {
    ports.smtp = await mx.listen(config.smtp.port, config.listen);
    await web.listen({ port: config.http.port, host: config.listen });
    const addr = web.server.address();
    ports.http = typeof addr === 'object' && addr ? addr.port : config.http.port;
  } catch (err) {
    await mx.close(0).catch(() => undefined);
    await web.close().catch(() => undefined);
    await store.close();
    resolver.close();
    const e = err as NodeJS.ErrnoException & { port?: number };
    throw new KagamiError('KGM-LISTEN-FAILED', `${config.listen}: ${e.code ?? ''} ${e.message}`);
  }
  if (config.run_as) dropPrivileges(config.run_as, config.data_dir, log);

  log.info(
    { event: 'listening', smtp: ports.smtp, http: ports.http, listen: config.listen, domains, data: config.data_dir, tls: tls.source, pid: process.pid },
    `kagami listening: smtp ${config.listen}:${ports.smtp}, http http://${config.listen}:${ports.http}`,
  );
  await writeAtomically(paths.ports, JSON.stringify(ports) + '\n');
  await worker.start();
  const imap = config.reports.imap ? createImapPoller({ config: config.reports.imap, store, acceptDomain: isOurs, log, limits: intakeLimits(config.reports.limits) }) : undefined;
  imap?.start();
  const postmaster = config.alerts.postmaster ?? `postmaster@${domains[0] ?? DEFAULT_DOMAIN}`;
  const alerts = config.alerts.enabled
    ? createAlertRunner({
        store,
        domains,
        thresholds: alertThresholdsFrom(config.alerts),
        interval: config.alerts.interval,
        postmaster,
        from: `postmaster@${domains[0] ?? DEFAULT_DOMAIN}`,
        hostname: config.hostname,
        reverse: async (ips) => (await cachedReverseLookups({ store, resolver, now: clock.now() }, ips)).enrich,
        ours: () => outboundAddresses(store),
        sourceOptions: sourceOptionsFrom(config),
        // An outside postmaster address is not ours to route locally: it goes out like an alias target.
        route: (address) => {
          const d = resolveRecipient(address, recipientPolicy);
          return d.result === 'accept' ? d.targets : [{ address, route: 'remote', mailbox: address }];
        },
        spool,
        acceptor,
        clock,
        log,
      })
    : undefined;
  alerts?.start();

  async function stop(): Promise<void> {
    if (stopping) return;
    stopping = true;
    log.info({ event: 'stopping', inFlight: mx.inFlight() }, 'stopping: finishing transactions in flight');
    await imap?.stop();
    await alerts?.stop();
    await mx.close(30_000);
    await acceptor.idle();
    await worker.stop();
    await web.close();
    await store.close();
    resolver.close();
    await fs.rm(paths.ports, { force: true });
    log.info({ event: 'stopped' }, 'stopped');
  }

  async function reloadTls(): Promise<void> {
    if (!config.tls.cert || !config.tls.key) {
      log.info('SIGHUP: no operator certificate configured; the self-signed one stays');
      return;
    }
    try {
      const fresh = await loadOperatorTls(config.tls.cert, config.tls.key);
      mx.updateTls(fresh.cert, fresh.key);
      log.info({ cert: config.tls.cert }, 'TLS certificate reloaded');
    } catch (err) {
      log.error({ err, cert: config.tls.cert }, 'TLS certificate reload failed; the previous one stays in use');
    }
  }

  return { ports, domains, stop, reloadTls };
}
