/** `kagami queue [list] [--json]`: what is waiting, deferred, delivered or bounced. */
import type { Command } from 'commander';
import { withDataStore } from './data-store.js';
import type { QueueEntry } from '../store/types.js';
import { configFrom, fail, withCommonOptions, type CommonFlags } from './options.js';

interface QueueFlags extends CommonFlags {
  json?: boolean;
}

export function readQueue(dataDir: string): Promise<QueueEntry[]> {
  return withDataStore(dataDir, (store) => store.listQueue(), () => []);
}

function formatTable(messages: QueueEntry[]): string {
  if (messages.length === 0) return 'Queue is empty.\n';
  const lines: string[] = [];
  for (const m of messages) {
    lines.push(`${m.id}  ${m.receivedAt}  ${m.size} bytes  from <${m.from}>`);
    for (const r of m.recipients) {
      const next = r.nextAttemptAt ? `  next ${r.nextAttemptAt}` : '';
      const err = r.lastError ? `  (${r.lastError})` : '';
      lines.push(`    ${r.state.padEnd(9)} <${r.address}>  attempts ${r.attempts}${next}${err}`);
    }
  }
  const pending = messages.filter((m) => m.recipients.some((r) => r.state === 'queued' || r.state === 'deferred')).length;
  lines.push('', `${messages.length} messages, ${pending} with recipients still to deliver.`);
  return lines.join('\n') + '\n';
}

async function list(flags: QueueFlags): Promise<void> {
  try {
    const config = configFrom(flags);
    const messages = await readQueue(config.data_dir);
    process.stdout.write(flags.json ? JSON.stringify({ messages }, null, 2) + '\n' : formatTable(messages));
  } catch (err) {
    fail(err);
  }
}

export function registerQueue(program: Command): void {
  const queue = withCommonOptions(program.command('queue').description('show the delivery queue (same as `queue list`)'))
    .option('--json', 'print JSON: {messages: [{id, receivedAt, from, size, recipients: [...]}]}')
    .action((flags: QueueFlags) => list(flags));
  withCommonOptions(queue.command('list').description('list queued, deferred, delivered and bounced messages'))
    .option('--json', 'print JSON')
    .action((flags: QueueFlags, cmd: Command) => list({ ...cmd.parent?.opts(), ...flags }));
}
