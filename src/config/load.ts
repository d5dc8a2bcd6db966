/**
 * Load the configuration once: TOML file (optional) → command-line overrides → validate → freeze.
 * Nothing else in Kagami reads the file or the environment.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { KagamiError } from '../core/errors.js';
import { configSchema, type KagamiConfig } from './schema.js';

/** Settings given on the command line; each wins over the file. */
export interface ConfigOverrides {
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

/** Listeners that follow `--smtp-port 0` to a free port unless their own port is given. */
const FOLLOWING_LISTENERS = ['http'] as const;

type Raw = Record<string, unknown>;

function section(raw: Raw, key: string): Raw {
  const value = raw[key];
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Raw;
  const fresh: Raw = {};
  raw[key] = fresh;
  return fresh;
}

function readToml(file: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KagamiError('KGM-CONFIG-UNREADABLE', `${file}: ${(err as Error).message}`);
  }
  try {
    return parseToml(text) as Raw;
  } catch (err) {
    const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
    throw new KagamiError('KGM-CONFIG-UNREADABLE', `${file}${where}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Applies the overrides to the raw (not yet validated) settings. Pure apart from `raw`. */
export function applyOverrides(raw: Raw, o: ConfigOverrides): Raw {
  if (o.data !== undefined) raw.data_dir = o.data;
  if (o.hostname !== undefined) raw.hostname = o.hostname;
  if (o.domain && o.domain.length > 0) raw.domains = o.domain;
  if (o.listen !== undefined) raw.listen = o.listen;
  if (o.dns && o.dns.length > 0) section(raw, 'dns').servers = o.dns;
  if (o.tlsCert !== undefined) section(raw, 'tls').cert = o.tlsCert;
  if (o.tlsKey !== undefined) section(raw, 'tls').key = o.tlsKey;
  if (o.logLevel !== undefined) section(raw, 'log').level = o.logLevel;
  if (o.smtpPort === 0) {
    for (const name of FOLLOWING_LISTENERS) {
      const s = section(raw, name);
      if (s.port === undefined) s.port = 0;
    }
  }
  if (o.smtpPort !== undefined) section(raw, 'smtp').port = o.smtpPort;
  if (o.httpPort !== undefined) section(raw, 'http').port = o.httpPort;
  return raw;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .join('; ');
}

/** Validates raw settings (from a file, overrides applied) into a frozen config. */
export function validateConfig(raw: Raw, baseDir = process.cwd()): Readonly<KagamiConfig> {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new KagamiError('KGM-CONFIG-INVALID', describeIssues(parsed.error));
  const config = parsed.data;
  config.data_dir = path.resolve(baseDir, config.data_dir);
  if (config.tls.cert) config.tls.cert = path.resolve(baseDir, config.tls.cert);
  if (config.tls.key) config.tls.key = path.resolve(baseDir, config.tls.key);
  if (config.reports.imap) config.reports.imap.password_file = path.resolve(baseDir, config.reports.imap.password_file);
  config.aliases = Object.fromEntries(
    Object.entries(config.aliases).map(([k, v]) => [k.toLowerCase(), v.map((t) => t.trim())]),
  );
  return deepFreeze(config);
}

/** Reads `--config FILE` (if given), applies the other flags, validates and freezes. */
export function loadConfig(overrides: ConfigOverrides = {}): Readonly<KagamiConfig> {
  const raw = overrides.config ? readToml(overrides.config) : {};
  // Paths in a config file are relative to the file; paths on the command line to the cwd.
  const fileDir = overrides.config ? path.dirname(path.resolve(overrides.config)) : process.cwd();
  if (overrides.config) {
    if (typeof raw.data_dir === 'string') raw.data_dir = path.resolve(fileDir, raw.data_dir);
    const tls = raw.tls as Raw | undefined;
    for (const key of ['cert', 'key']) {
      if (tls && typeof tls[key] === 'string') tls[key] = path.resolve(fileDir, tls[key] as string);
    }
    const imap = (raw.reports as Raw | undefined)?.imap as Raw | undefined;
    if (imap && typeof imap.password_file === 'string') imap.password_file = path.resolve(fileDir, imap.password_file);
  }
  applyOverrides(raw, overrides);
  return validateConfig(raw);
}
