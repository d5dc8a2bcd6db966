/**
 * The alert check while `kagami serve` runs (issue #5): every interval, alerts of each domain of
 * ours are evaluated from the stored reports, and each alert not yet mailed today goes to the
 * postmaster as a message in Kagami's own durable queue (spool file fsynced, queue row committed
 * through the acceptor), delivered like received mail. Ports are injected; main.ts wires them.
 */
import { newQueueId } from '../core/ids.js';
import { createPeriodicTask } from '../core/periodic.js';
import type { Clock } from '../core/clock.js';
import type { Spool } from '../delivery/spool.js';
import type { Logger } from '../observability/log.js';
import type { Acceptor } from '../pipeline/acceptance.js';
import type { NewRecipient, Store } from '../store/types.js';
import { ALERTS_SENT_SETTING, alertsToSend, formatAlertMail, markSent, parseSentAlerts } from './alert-mail.js';
import { alertLookbackStart, evaluateAlerts, recentSourceIps, type Alert, type AlertThresholds } from './alerts.js';
import type { SourcesOptions } from './sources.js';
import { loadReports } from './load.js';

export interface AlertRunnerDeps {
  store: Pick<Store, 'listReports' | 'getReport' | 'getSetting' | 'setSetting'>;
  domains: readonly string[];
  thresholds: AlertThresholds;
  /** Seconds between checks. */
  interval: number;
  /** Where alerts go, and the From address. */
  postmaster: string;
  from: string;
  hostname: string;
  /** PTR names of the given IPs (failed lookups give null). */
  reverse(ips: readonly string[]): Promise<ReadonlyMap<string, { ptr: string | null }>>;
  /** Addresses Kagami sent from (class "ours"). */
  ours(): Promise<ReadonlySet<string>>;
  /** Own networks and trusted forwarders, for the classification of sources. */
  sourceOptions?: SourcesOptions;
  /** Who receives mail for an address: local Maildir/LMTP, or remote. */
  route(address: string): NewRecipient[];
  spool: Spool;
  acceptor: Acceptor;
  clock: Clock;
  log: Logger;
}

export interface CheckResult {
  alerts: Alert[];
  /** Ids mailed by this check. */
  sent: string[];
}

export interface AlertRunner {
  /** One check: evaluate, mail what is new today, remember it. */
  checkOnce(): Promise<CheckResult>;
  /** Checks now and then every interval. */
  start(): void;
  /** Stops the timer and waits for a check in progress. */
  stop(): Promise<void>;
}

/** The [alerts] thresholds of the configuration as evaluateAlerts takes them. */
export function alertThresholdsFrom(c: {
  recent_days: number;
  baseline_days: number;
  new_source_messages: number;
  pass_rate_drop_points: number;
  pass_rate_min_messages: number;
  silent_days: number;
  silent_min_reports: number;
  tls_failure_rate: number;
  tls_min_failed: number;
  tls_spike_factor: number;
}): AlertThresholds {
  return {
    recentDays: c.recent_days,
    baselineDays: c.baseline_days,
    newSourceMessages: c.new_source_messages,
    passRateDropPoints: c.pass_rate_drop_points,
    passRateMinMessages: c.pass_rate_min_messages,
    silentDays: c.silent_days,
    silentMinReports: c.silent_min_reports,
    tlsFailureRate: c.tls_failure_rate,
    tlsMinFailed: c.tls_min_failed,
    tlsSpikeFactor: c.tls_spike_factor,
  };
}

/** The alerts of every given domain now, from the store: what `kagami alerts` prints and the runner mails. */
export async function currentAlerts(
  deps: Pick<AlertRunnerDeps, 'store' | 'thresholds' | 'reverse' | 'ours' | 'sourceOptions'>,
  domains: readonly string[],
  now: number,
): Promise<Alert[]> {
  const out: Alert[] = [];
  const ours = await deps.ours();
  for (const domain of domains) {
    const since = alertLookbackStart(now, deps.thresholds);
    const reports = [
      ...(await loadReports(deps.store, { domain, kind: 'aggregate', since })),
      ...(await loadReports(deps.store, { domain, kind: 'tls', since })),
    ];
    if (reports.length === 0) continue;
    const enrich = await deps.reverse(recentSourceIps(reports, domain, now, deps.thresholds));
    out.push(...evaluateAlerts(reports, { domain, now, thresholds: deps.thresholds, enrich, ours, sources: deps.sourceOptions ?? {} }));
  }
  return out;
}

export function createAlertRunner(deps: AlertRunnerDeps): AlertRunner {

  /** Writes the message to the spool (fsynced) and commits its queue row: durable as received mail. */
  async function enqueue(alert: Alert, now: number): Promise<string> {
    const content = formatAlertMail(alert, { to: deps.postmaster, from: deps.from, hostname: deps.hostname, now });
    const id = newQueueId(now);
    const file = await deps.spool.create(id);
    try {
      await file.write(content);
      await file.commit();
    } catch (err) {
      await file.abort();
      throw err;
    }
    // The null reverse-path: an alert that cannot be delivered must not bounce back into a loop (RFC 3834 3.3).
    await deps.acceptor.accept({
      id,
      receivedAt: now,
      mailFrom: '',
      size: content.length,
      clientIp: '127.0.0.1',
      helo: deps.hostname,
      traceHeaders: '',
      recipients: deps.route(deps.postmaster),
    });
    return id;
  }

  async function checkOnce(): Promise<CheckResult> {
    const now = deps.clock.now();
    const alerts = await currentAlerts(deps, deps.domains, now);
    let sent = parseSentAlerts(await deps.store.getSetting(ALERTS_SENT_SETTING));
    const ids: string[] = [];
    for (const alert of alertsToSend(alerts, sent, now)) {
      const queueId = await enqueue(alert, now);
      // Remembered after each message is queued: a crash in between mails that alert once more, never loses it.
      sent = markSent(sent, [alert.id], now);
      await deps.store.setSetting(ALERTS_SENT_SETTING, JSON.stringify(sent));
      ids.push(alert.id);
      deps.log.warn({ event: 'alert', alertId: alert.id, kind: alert.kind, domain: alert.domain, severity: alert.severity, queueId, to: deps.postmaster }, alert.message);
    }
    return { alerts, sent: ids };
  }

  const task = createPeriodicTask(
    async () => {
      const r = await checkOnce();
      deps.log.info({ event: 'alerts-checked', alerts: r.alerts.length, sent: r.sent.length }, 'alerts checked');
    },
    deps.interval,
    (err: unknown) => deps.log.error({ event: 'alerts-failed', err }, 'alert check failed; retried at the next interval'),
  );

  return { checkOnce, start: task.start, stop: task.stop };
}
