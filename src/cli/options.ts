/** Options every command takes, and turning command-line values into config overrides. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { KagamiError } from '../core/errors.js';
import type { ConfigOverrides } from '../config/load.js';
import { loadConfig } from '../config/load.js';
import { timeOption } from './time.js';

export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('a port number from 0 to 65535 (0 = any free port)');
  return n;
}

/** A domain as the user typed it, as the store keeps it: lower case, no trailing dot. */
export const domainArgument = (d: string) => d.trim().toLowerCase().replace(/\.$/, '');

/** A repeatable option's values, in order. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * What the report analysis commands (sources, overview) take: --config, --data, the domain, the
 * period, and DNS servers for the reverse lookups the store's PTR cache does not answer.
 */
export function withAnalysisOptions(cmd: Command): Command {
  return withCommonOptions(cmd)
    .requiredOption('--domain <name>', 'the domain (policy_published/domain of the reports)')
    .addOption(new Option('--since <time>', 'reports whose period ends at or after this: ISO 8601 or 30m, 24h, 7d ago').argParser(timeOption))
    .addOption(new Option('--until <time>', 'reports whose period begins before this (same forms as --since)').argParser(timeOption))
    .option('--dns <host[:port]>', "DNS server for the reverse lookups not yet in the store's PTR cache (repeatable); default /etc/resolv.conf", collect);
}

/** --config and --data, accepted after every command's name. */
export function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'TOML configuration file (every setting has a default)')
    .option('--data <dir>', 'data directory (default ./data)');
}

export function withServerOptions(cmd: Command): Command {
  return withCommonOptions(cmd)
    .addOption(new Option('--smtp-port <n>', 'MX port (default 2525); 0 = a free port, and then every listener without its own port takes one too').argParser(parsePort))
    .addOption(new Option('--http-port <n>', 'metrics/API port (default 8025); 0 = a free port').argParser(parsePort))
    .option('--dns <host[:port]>', 'DNS server for every lookup (repeatable; [v6]:port for IPv6); default /etc/resolv.conf', collect)
    .option('--hostname <name>', 'our host name (greeting, Received)')
    .option('--domain <name>', 'a domain we accept mail for (repeatable; remembered in DATA)', collect)
    .option('--listen <addr>', 'address to bind (default 127.0.0.1; 0.0.0.0 or :: in production)')
    .option('--tls-cert <file>', 'PEM certificate chain (reloaded on SIGHUP)')
    .option('--tls-key <file>', 'PEM private key')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent');
}

export interface CommonFlags {
  config?: string;
  data?: string;
  smtpPort?: number;
  httpPort?: number;
  dns?: string[];
  hostname?: string;
  domain?: string[];
  listen?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
}

export function overridesFrom(flags: CommonFlags): ConfigOverrides {
  const o: ConfigOverrides = {};
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
  return o;
}

export function configFrom(flags: CommonFlags) {
  return loadConfig(overridesFrom(flags));
}

/** Prints a coded error with what to do, and exits non-zero. */
export function fail(err: unknown): never {
  if (err instanceof KagamiError) {
    process.stderr.write(`kagami: ${err.describe()}\n`);
    process.exit(2);
  }
  process.stderr.write(`kagami: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
}
