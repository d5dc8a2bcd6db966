/**
 * `kagami dkim keygen --selector S --domain D [--algorithm rsa2048|ed25519] [--json]`: makes a
 * signing key in the key store (DATA/keys/<domain>/<selector>.pem, mode 0600) and prints the
 * TXT record to publish. A domain's first key signs at once; later ones wait for rotation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { generateDkimKey } from '../auth/dkim/keygen.js';
import { KagamiError } from '../core/errors.js';
import { dataPaths } from '../runtime.js';
import { openSqliteStore } from '../store/sqlite.js';
import { configFrom, fail, withCommonOptions, type CommonFlags } from './options.js';

interface KeygenFlags extends Omit<CommonFlags, 'domain'> {
  selector?: string;
  domain?: string;
  algorithm?: string;
  json?: boolean;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

async function keygen(flags: KeygenFlags): Promise<void> {
  try {
    const selector = flags.selector ?? '';
    const domain = (flags.domain ?? '').toLowerCase().replace(/\.$/, '');
    if (!selector.split('.').every((l) => LABEL.test(l))) throw new KagamiError('KGM-DKIM-USAGE', `--selector "${selector}"`);
    if (!domain.includes('.') || !domain.split('.').every((l) => LABEL.test(l))) throw new KagamiError('KGM-DKIM-USAGE', `--domain "${domain}"`);
    const algorithm = flags.algorithm ?? 'rsa2048';
    if (algorithm !== 'rsa2048' && algorithm !== 'ed25519') throw new KagamiError('KGM-DKIM-USAGE', `--algorithm must be rsa2048 or ed25519, not ${algorithm}`);

    const config = configFrom({ config: flags.config, data: flags.data });
    const paths = dataPaths(config.data_dir);
    const dir = path.join(config.data_dir, 'keys', domain);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, `${selector}.pem`);
    const key = generateDkimKey({ algorithm });
    mkdirSync(config.data_dir, { recursive: true });
    const store = openSqliteStore({ file: paths.db });
    let entry;
    try {
      await store.migrate();
      try {
        writeFileSync(file, key.privateKeyPem, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KagamiError('KGM-DKIM-KEY-EXISTS', `${file}`);
        throw err;
      }
      entry = await store.addDkimKey({ domain, selector, algorithm: key.signingAlgorithm, createdAt: Date.now() });
    } finally {
      await store.close();
    }
    const name = `${selector}._domainkey.${domain}`;
    if (flags.json) {
      process.stdout.write(JSON.stringify({ domain, selector, algorithm, name, value: key.dnsValue, state: entry.state, file }, null, 2) + '\n');
      return;
    }
    const quoted = key.txtStrings.map((s) => `"${s}"`).join(' ');
    process.stdout.write(
      `Key written to ${file} (${entry.state === 'active' ? 'active: signs mail for ' + domain + ' now' : 'pending: waits for rotation'}).\n` +
        `Publish this record in the ${domain} zone:\n\n${name}. IN TXT ${quoted}\n`,
    );
  } catch (err) {
    fail(err);
  }
}

export function registerDkim(program: Command): void {
  const dkim = program.command('dkim').description('DKIM signing keys');
  withCommonOptions(dkim.command('keygen').description('make a signing key and print the DNS record to publish'))
    .requiredOption('--selector <name>', 'the selector (the key is published at <selector>._domainkey.<domain>)')
    .requiredOption('--domain <name>', 'the signing domain (d=)')
    .option('--algorithm <alg>', 'rsa2048 (default) or ed25519 (RFC 8463)')
    .option('--json', 'print {domain, selector, algorithm, name, value}')
    .action((flags: KeygenFlags) => keygen(flags));
}
