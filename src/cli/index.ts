/**
 * The `kagami` command line: one file per command, registered here. Only the command being run
 * is loaded: `kagami reports import` need not load the SMTP server, the web app or mailauth, which
 * cost start-up time and tens of megabytes of memory for the whole run. Help (no command, an
 * unknown one, `help`) loads them all.
 */
import { Command } from 'commander';

/**
 * `reports import` parses thousands of small XML documents, each leaving its garbage in V8's young
 * generation; at the default semi-space size the heap keeps far more pages resident than the
 * import needs. Measured in bench/ingest (100 000 reports): peak RSS 345 MB at the default, ~250 MB
 * at 4 MB semi-spaces, at the same or better speed. V8 takes the size only at start-up, so the
 * command replaces itself (execve: same process, no parent left waiting) with a Node started with
 * it. Where execve is missing (Windows) the import runs as it is, with the larger heap.
 */
const IMPORT_YOUNG_GENERATION = '--max-semi-space-size=4';

function rerunWithSmallYoungGeneration(): void {
  const positional = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  if (positional[0] !== 'reports' || positional[1] !== 'import') return;
  if (typeof process.execve !== 'function' || process.execArgv.some((a) => a.startsWith('--max-semi-space-size'))) return;
  try {
    process.execve(process.execPath, [process.execPath, ...process.execArgv, IMPORT_YOUNG_GENERATION, ...process.argv.slice(1)]); // does not return
  } catch {
    // Node could not be started again: import in this process.
  }
}

rerunWithSmallYoungGeneration();

type Register = (program: Command) => void;

const commands: Record<string, () => Promise<Register[]>> = {
  serve: async () => [(await import('./serve.js')).registerServe],
  queue: async () => [(await import('./queue.js')).registerQueue],
  verify: async () => [(await import('./verify.js')).registerVerify],
  dkim: async () => [(await import('./dkim.js')).registerDkim],
  demo: async () => [(await import('./demo.js')).registerDemo],
  log: async () => [(await import('./log.js')).registerLog],
  quarantine: async () => [(await import('./quarantine.js')).registerQuarantine],
  reports: async () => [(await import('./reports.js')).registerReports],
  sources: async () => [(await import('./sources.js')).registerSources],
  'tls-reports': async () => [(await import('./sources.js')).registerTlsReports],
  overview: async () => [(await import('./overview.js')).registerOverview],
  alerts: async () => [(await import('./alerts.js')).registerAlerts],
};

const program = new Command('kagami')
  .description('Kagami: a mail server with DMARC at its centre')
  .version('0.1.0')
  .showHelpAfterError('(run `kagami --help` for the commands)');

const name = process.argv.slice(2).find((a) => !a.startsWith('-'));
const wanted = name !== undefined && Object.hasOwn(commands, name) ? [commands[name]!] : Object.values(commands);
for (const load of wanted) for (const register of await load()) register(program);

await program.parseAsync(process.argv);
