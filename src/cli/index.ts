/** The `kagami` command line: one file per command, registered here. */
import { Command } from 'commander';
import { registerAlerts } from './alerts.js';
import { registerDemo } from './demo.js';
import { registerDkim } from './dkim.js';
import { registerLog } from './log.js';
import { registerOverview } from './overview.js';
import { registerQuarantine } from './quarantine.js';
import { registerQueue } from './queue.js';
import { registerReports } from './reports.js';
import { registerServe } from './serve.js';
import { registerSources, registerTlsReports } from './sources.js';
import { registerVerify } from './verify.js';

const program = new Command('kagami')
  .description('Kagami: a mail server with DMARC at its centre')
  .version('0.1.0')
  .showHelpAfterError('(run `kagami --help` for the commands)');

registerServe(program);
registerQueue(program);
registerVerify(program);
registerDkim(program);
registerDemo(program);
registerLog(program);
registerQuarantine(program);
registerReports(program);
registerSources(program);
registerTlsReports(program);
registerOverview(program);
registerAlerts(program);

await program.parseAsync(process.argv);
