/**
 * What the server and the CLI commands both build from the configuration: data paths, our
 * domains, the local policy, the DNS resolver. Kept apart from main.ts so a command such as
 * `kagami reports import` does not load the SMTP server, the web app and their dependencies.
 */
import path from 'node:path';
import type { KagamiConfig } from './config/schema.js';
import { DEFAULT_DOMAIN } from './config/schema.js';
import { withCache } from './dns/cache.js';
import { parseDnsServer, systemDnsServers } from './dns/servers.js';
import { createStubResolver } from './dns/stub.js';
import type { DnsResolver } from './dns/types.js';
import type { SourcesOptions } from './analysis/sources.js';
import type { LocalPolicy } from './policy/types.js';
import type { Store } from './store/types.js';

export const dataPaths = (dataDir: string) => ({
  db: path.join(dataDir, 'kagami.db'),
  spool: path.join(dataDir, 'spool'),
  mail: path.join(dataDir, 'mail'),
  run: path.join(dataDir, 'run'),
  ports: path.join(dataDir, 'run', 'ports.json'),
});

const DOMAINS_SETTING = 'domains';

/** The domains we accept mail for: the configured ones (then recorded), else those recorded in DATA. */
export async function resolveDomains(config: Readonly<KagamiConfig>, store: Store, record: boolean): Promise<string[]> {
  if (config.domains.length > 0) {
    if (record) await store.setSetting(DOMAINS_SETTING, JSON.stringify(config.domains));
    return [...config.domains];
  }
  const saved = await store.getSetting(DOMAINS_SETTING);
  if (saved) return JSON.parse(saved) as string[];
  return [DEFAULT_DOMAIN];
}

/** The [policy] section as the policy module takes it. */
export function localPolicyFrom(config: Readonly<KagamiConfig>): LocalPolicy {
  const p = config.policy;
  return {
    enforce: p.enforce,
    onTemperror: p.on_temperror,
    trustedArcSealers: p.trusted_arc_sealers,
    trustedForwarders: p.trusted_forwarders,
    mailingLists: p.mailing_lists,
    exceptions: p.exceptions,
    shadow: { quarantineAsReject: p.shadow.quarantine_as_reject, ignoreTesting: p.shadow.ignore_testing, enforceNone: p.shadow.enforce_none },
  };
}

/** The configuration `summariseSources` classifies with: our own networks, trusted forwarders. */
export function sourceOptionsFrom(config: Readonly<KagamiConfig>): SourcesOptions {
  return { ownNetworks: config.reports.own_ips, trustedForwarders: config.policy.trusted_forwarders };
}

export function buildResolver(config: Readonly<KagamiConfig>): DnsResolver & { close(): void } {
  const servers = config.dns.servers.length > 0 ? config.dns.servers.map(parseDnsServer) : systemDnsServers();
  const stub = createStubResolver({ servers, timeoutMs: config.dns.timeout_ms, attempts: config.dns.attempts });
  const cached = withCache(stub);
  return Object.assign(cached, { close: () => stub.close() });
}

