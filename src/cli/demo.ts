/**
 * `kagami demo [--data DIR] [--once] [--json]`: Kagami receiving spoofed, forwarded, list and
 * honest mail from a demo DNS zone, with what it did to each message and why. Exits 0 with
 * `--once` when every scenario ended as expected, 1 (and the list) when one did not.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { demoJson, formatDemoReport, unexpected } from '../demo/format.js';
import { startDemo } from '../demo/run.js';
import { dataPaths } from '../runtime.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { VerdictRow } from '../store/types.js';
import { fail } from './options.js';

interface DemoFlags {
  data?: string;
  once?: boolean;
  json?: boolean;
}

async function readVerdicts(dataDir: string): Promise<VerdictRow[]> {
  const file = dataPaths(dataDir).db;
  if (!existsSync(file)) return [];
  const store = openSqliteStore({ file });
  try {
    return await store.listVerdicts();
  } finally {
    await store.close();
  }
}

async function run(flags: DemoFlags): Promise<void> {
  let demo;
  try {
    demo = await startDemo(flags.data === undefined ? {} : { dataDir: flags.data }, { readVerdicts });
  } catch (err) {
    fail(err);
  }
  const { report } = demo;
  process.stdout.write(flags.json ? JSON.stringify(demoJson(report), null, 2) + '\n' : formatDemoReport(report, { running: !flags.once }));
  const wrong = unexpected(report);
  if (flags.once) {
    await demo.stop().catch((err: unknown) => fail(err));
    if (wrong.length > 0 && flags.json) {
      process.stderr.write(`kagami demo: not as expected: ${wrong.map((s) => `${s.name} (${s.outcome}, expected ${s.expected})`).join(', ')}\n`);
    }
    process.exit(wrong.length === 0 ? 0 : 1);
  }
  if (flags.json) process.stderr.write(`kagami demo: running (SMTP 127.0.0.1:${report.smtpPort}); Ctrl-C to stop\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    demo
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => fail(err));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('see DMARC at work: spoofed, forwarded, mailing-list and honest mail through a demo Kagami, with the reasons')
    .option('--data <dir>', 'keep the demo data here (default: a temporary directory, removed at exit)')
    .option('--once', 'stop after the summary; exit 0 when every scenario ended as expected, 1 otherwise')
    .option('--json', 'print JSON: {dataDir, smtpPort, httpPort, scenarios: [{name, expected, outcome, reply, dmarc, reason, …}]}')
    .action((flags: DemoFlags) => run(flags));
}
