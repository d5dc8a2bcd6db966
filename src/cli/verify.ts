/**
 * `kagami verify [FILE|-] --ip IP --helo NAME --mail-from ADDR`: the MX's authentication chain on
 * one message, with every reason. Any authentication outcome exits 0; only bad input does not.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { KagamiError } from '../core/errors.js';
import { buildResolver } from '../runtime.js';
import { authenticateMessage, type AuthenticationVerdict } from '../pipeline/authenticate.js';
import { configFrom, fail, withCommonOptions, type CommonFlags } from './options.js';

interface VerifyFlags extends CommonFlags {
  ip?: string;
  helo?: string;
  mailFrom?: string;
  now?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function verdictJson(v: AuthenticationVerdict) {
  const d = v.dmarc;
  return {
    spf: {
      result: v.spf.result,
      domain: v.spf.domain,
      identity: v.spf.identity,
      reason: v.spf.reason,
      mechanism: v.spf.mechanism ?? null,
      explanation: v.spf.result === 'fail' ? (v.spf.explanation ?? null) : null,
      lookups: v.spf.lookups,
      voidLookups: v.spf.voidLookups,
      trace: v.spf.trace,
    },
    dkim: v.dkim,
    arc: v.arc,
    dmarc: {
      result: d.result,
      fromDomain: d.fromDomain,
      policyDomain: d.policyDomain,
      organizationalDomain: d.organizationalDomain,
      policyTag: d.policyTag,
      policy: d.policy,
      testing: d.testing,
      appliedPolicy: d.appliedPolicy,
      alignment: d.alignment,
      reason: d.reason,
      warnings: d.warnings,
      trace: d.trace,
    },
    authenticationResults: v.authenticationResults.replace(/\r\n$/, ''),
  };
}

function summary(v: AuthenticationVerdict): string {
  const lines = [
    `SPF    ${v.spf.result.padEnd(9)} ${v.spf.identity === 'helo' ? 'HELO' : 'MAIL FROM'} ${v.spf.domain}: ${v.spf.reason} (${v.spf.lookups} DNS lookups)`,
  ];
  if (v.dkim.length === 0) lines.push('DKIM   none      the message is not signed');
  for (const s of v.dkim) {
    lines.push(`DKIM   ${s.result.padEnd(9)} d=${s.domain} s=${s.selector} ${s.algorithm}${s.aligned ? ' (aligned)' : ''}: ${s.reason}${s.bodyLengthLimited ? ' [l= present: content can be appended]' : ''}`);
  }
  lines.push(`ARC    ${v.arc.result.padEnd(9)} ${v.arc.reason ?? ''}`);
  const d = v.dmarc;
  const policy = d.policyTag ? ` ${d.policyTag}=${d.policy}${d.testing ? ' t=y' : ''} → ${d.appliedPolicy ?? 'no policy'}` : '';
  lines.push(`DMARC  ${d.result.padEnd(9)} ${d.fromDomain ?? '(no From domain)'}${policy}: ${d.reason}`);
  lines.push('', v.authenticationResults.trimEnd());
  return lines.join('\n') + '\n';
}

async function run(file: string | undefined, flags: VerifyFlags): Promise<void> {
  try {
    const missing = (['ip', 'helo', 'mailFrom'] as const).filter((k) => flags[k] === undefined);
    if (missing.length > 0) {
      throw new KagamiError('KGM-VERIFY-USAGE', `missing ${missing.map((m) => (m === 'mailFrom' ? '--mail-from' : `--${m}`)).join(', ')}`);
    }
    if (!isIP(flags.ip!)) throw new KagamiError('KGM-VERIFY-USAGE', `--ip ${flags.ip} is not an IPv4 or IPv6 address`);
    if (flags.now !== undefined && !/^\d+$/.test(flags.now)) throw new KagamiError('KGM-VERIFY-USAGE', '--now takes seconds since the epoch');
    let message: Buffer;
    try {
      message = readFileSync(file === undefined || file === '-' ? 0 : file);
    } catch (err) {
      throw new KagamiError('KGM-VERIFY-INPUT', `${file ?? 'standard input'}: ${(err as Error).message}`);
    }
    if (message.length === 0) throw new KagamiError('KGM-VERIFY-INPUT', `${file ?? 'standard input'} is empty`);
    const config = configFrom(flags);
    const resolver = buildResolver(config);
    try {
      const verdict = await authenticateMessage(
        {
          message,
          ip: flags.ip!,
          helo: flags.helo!,
          mailFrom: flags.mailFrom!.replace(/^<(.*)>$/, '$1'),
          authservId: config.hostname,
          ...(flags.now !== undefined ? { now: Number(flags.now) } : {}),
        },
        resolver,
      );
      process.stdout.write(flags.json ? JSON.stringify(verdictJson(verdict), null, 2) + '\n' : summary(verdict));
    } finally {
      resolver.close();
    }
  } catch (err) {
    fail(err);
  }
}

export function registerVerify(program: Command): void {
  withCommonOptions(program.command('verify').description('run SPF, DKIM, ARC and DMARC on a message as the MX would, with the reasons'))
    .argument('[file]', 'the message (RFC 5322); - or nothing for standard input')
    .option('--ip <address>', "the SMTP client's IP address")
    .option('--helo <name>', 'the HELO/EHLO name')
    .option('--mail-from <address>', "the MAIL FROM reverse-path ('' for the null reverse-path)")
    .option('--dns <host[:port]>', 'DNS server (repeatable); default /etc/resolv.conf', collect)
    .option('--now <unixtime>', 'the time to verify at, in seconds (DKIM x=/t=, ARC)')
    .option('--json', 'print one JSON object: spf, dkim[], arc, dmarc, authenticationResults')
    .action((file: string | undefined, flags: VerifyFlags) => run(file, flags));
}
