/**
 * `kagami alerts [--domain D]`: the alerts that hold now for our domains (issue #5), as the
 * running server evaluates them before mailing the postmaster: new unknown sources, pass-rate
 * drops, silent reporters, TLS failure spikes. Thresholds come from [alerts] in the config.
 */
import type { Command } from 'commander';
import { alertThresholdsFrom, currentAlerts } from '../analysis/alert-runner.js';
import type { Alert } from '../analysis/alerts.js';
import { cachedReverseLookups, outboundAddresses } from '../analysis/ptr-cache.js';
import { buildResolver, resolveDomains, sourceOptionsFrom } from '../runtime.js';
import { withDataStore } from './data-store.js';
import { collect, configFrom, domainArgument, fail, withCommonOptions } from './options.js';
import { table } from './table.js';

interface AlertsFlags {
  config?: string;
  data?: string;
  dns?: string[];
  domain?: string;
  json?: boolean;
}


export function formatAlerts(domains: readonly string[], alerts: readonly Alert[]): string {
  if (alerts.length === 0) return `No alerts for ${domains.join(', ') || 'any domain'}.\n`;
  const rows = alerts.map((a) => [a.severity, a.kind, a.domain, a.message]);
  const lines = [table(['SEVERITY', 'KIND', 'DOMAIN', 'MESSAGE'], rows).trimEnd(), ''];
  for (const a of alerts) lines.push(`${a.id}\n  ${a.action}`);
  return lines.join('\n') + '\n';
}

async function runAlerts(flags: AlertsFlags): Promise<void> {
  try {
    const config = configFrom({ config: flags.config, data: flags.data, ...(flags.dns ? { dns: flags.dns } : {}) });
    const now = Date.now();
    const thresholds = alertThresholdsFrom(config.alerts);
    const resolver = buildResolver(config);
    const result = await (async () => {
      try {
        return await withDataStore(
          config.data_dir,
          async (store) => {
            const domains = flags.domain ? [domainArgument(flags.domain)] : (await resolveDomains(config, store, false)).map((d) => d.toLowerCase());
            const alerts = await currentAlerts(
              {
                store,
                thresholds,
                reverse: async (ips) => (await cachedReverseLookups({ store, resolver, now }, ips)).enrich,
                ours: () => outboundAddresses(store),
                sourceOptions: sourceOptionsFrom(config),
              },
              domains,
              now,
            );
            return { domains, alerts };
          },
          () => ({ domains: flags.domain ? [domainArgument(flags.domain)] : config.domains, alerts: [] as Alert[] }),
        );
      } finally {
        resolver.close();
      }
    })();
    process.stdout.write(
      flags.json ? JSON.stringify({ generatedAt: new Date(now).toISOString(), domains: result.domains, alerts: result.alerts }, null, 2) + '\n' : formatAlerts(result.domains, result.alerts),
    );
  } catch (err) {
    fail(err);
  }
}

export function registerAlerts(program: Command): void {
  withCommonOptions(program.command('alerts').description('alerts from the stored reports: new unknown sources, pass-rate drops, silent reporters, TLS failure spikes'))
    .option('--domain <name>', 'only this domain (default: every domain of ours)')
    .option('--dns <host[:port]>', 'DNS server for the reverse lookups (repeatable); default /etc/resolv.conf', collect)
    .option('--json', 'print JSON: {generatedAt, domains, alerts: [{id, kind, domain, severity, message, figures, action}]}')
    .action((flags: AlertsFlags) => runAlerts(flags));
}
