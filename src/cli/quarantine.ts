/**
 * `kagami quarantine [list [--all]] | show ID | release ID | delete ID`: the quarantine index and
 * the messages it points at. A quarantined message is delivered into the recipient's Maildir
 * Junk folder with the tag Q<queue id>R<index> in its file name; release moves that file into the
 * INBOX (one rename on the same file system, then an fsync of both directories), delete unlinks it.
 * The file operation comes first and the index update second: a release interrupted in between
 * finds the file already in the INBOX the next time and only completes the index.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { KagamiError } from '../core/errors.js';
import { createDirSyncer, fsyncDir } from '../delivery/fsync.js';
import { createMaildirDelivery, deliveryTag } from '../delivery/maildir.js';
import { dataPaths } from '../runtime.js';
import type { QuarantineEntry, Store } from '../store/types.js';
import { withDataStore } from './data-store.js';
import { configFrom, fail, withCommonOptions, type CommonFlags } from './options.js';
import { table } from './table.js';

interface QuarantineFlags extends CommonFlags {
  all?: boolean;
  json?: boolean;
}

type Config = ReturnType<typeof configFrom>;

/** A message file found by its tag. */
interface TaggedFile {
  file: string;
  /** "new" or "cur". */
  sub: 'new' | 'cur';
  /** Junk, or the INBOX after a release. */
  folder: 'Junk' | 'INBOX';
}

const SHOW_BODY_LINES = 20;
const SHOW_READ_BYTES = 256 * 1024;

/** One entry as `--json` prints it (times in ISO 8601). */
export function quarantineJson(e: QuarantineEntry) {
  return { ...e, at: new Date(e.at).toISOString(), changedAt: e.changedAt === null ? null : new Date(e.changedAt).toISOString() };
}

function withStore<T>(config: Config, none: () => T, use: (store: Store) => Promise<T>): Promise<T> {
  return withDataStore(config.data_dir, use, none);
}

/** The Maildir++ folder directory of a mailbox, laid out as the delivery worker writes it. */
function folderDir(config: Config, mailbox: string, folder: 'Junk' | 'INBOX'): string {
  const maildir = createMaildirDelivery({ root: dataPaths(config.data_dir).mail, hostname: config.hostname, dirSyncer: createDirSyncer() });
  return maildir.folderPath(mailbox, folder === 'INBOX' ? '' : folder);
}

async function findTagged(config: Config, e: QuarantineEntry, folder: 'Junk' | 'INBOX'): Promise<TaggedFile | null> {
  const needle = deliveryTag(e.queueId, e.idx) + '.';
  const dir = folderDir(config, e.mailbox, folder);
  for (const sub of ['new', 'cur'] as const) {
    let names: string[];
    try {
      names = await fs.readdir(path.join(dir, sub));
    } catch {
      continue;
    }
    const name = names.find((n) => n.includes(needle));
    if (name) return { file: path.join(dir, sub, name), sub, folder };
  }
  return null;
}

async function findMessage(config: Config, e: QuarantineEntry): Promise<TaggedFile | null> {
  return (await findTagged(config, e, 'Junk')) ?? (await findTagged(config, e, 'INBOX'));
}

async function getEntry(store: Store, id: string): Promise<QuarantineEntry> {
  const e = await store.getQuarantine(id);
  if (!e) throw new KagamiError('KGM-QUARANTINE-UNKNOWN', `"${id}"`);
  return e;
}

function notHeld(e: QuarantineEntry): KagamiError {
  return new KagamiError('KGM-QUARANTINE-NOT-HELD', `${e.id} was ${e.state} at ${new Date(e.changedAt ?? e.at).toISOString()}`);
}

function requireHeld(e: QuarantineEntry): void {
  if (e.state !== 'held') throw notHeld(e);
}

/** Where a message not delivered to a local Maildir lives, in words. */
function elsewhere(config: Config, e: QuarantineEntry): string {
  if (e.route === 'lmtp') {
    const lmtp = config.delivery.lmtp;
    const server = lmtp.socket ?? `${lmtp.host}:${lmtp.port}`;
    return `the mailbox server: delivered over LMTP to ${server} for <${e.mailbox}>, in its Junk folder`;
  }
  return `the outside address <${e.mailbox}> it was forwarded to`;
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function formatList(entries: QuarantineEntry[], all: boolean): string {
  if (entries.length === 0) return all ? 'The quarantine is empty.\n' : 'No message is held in quarantine.\n';
  const rows = entries.map((e) => [e.id, when(e.at), ...(all ? [e.state] : []), e.fromDomain ?? '-', e.address, e.subject ?? '', e.reason]);
  return table(['ID', 'TIME', ...(all ? ['STATE'] : []), 'FROM DOMAIN', 'TO', 'SUBJECT', 'REASON'], rows);
}

async function list(flags: QuarantineFlags): Promise<void> {
  try {
    const config = configFrom({ config: flags.config, data: flags.data });
    const all = Boolean(flags.all);
    const entries = await withStore(config, () => [], (store) => store.listQuarantine({ state: all ? 'all' : 'held' }));
    process.stdout.write(flags.json ? JSON.stringify({ entries: entries.map(quarantineJson) }, null, 2) + '\n' : formatList(entries, all));
  } catch (err) {
    fail(err);
  }
}

/** The header section and the first lines of the body, read from the start of the file. */
async function preview(file: string): Promise<{ headers: string; body: string; moreLines: number }> {
  const handle = await fs.open(file, 'r');
  let text: string;
  let truncated: boolean;
  try {
    const buf = Buffer.alloc(SHOW_READ_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    truncated = bytesRead === buf.length;
    text = buf.subarray(0, bytesRead).toString('latin1').replace(/\r\n/g, '\n');
  } finally {
    await handle.close();
  }
  const end = text.indexOf('\n\n');
  const headers = end < 0 ? text : text.slice(0, end + 1);
  const bodyLines = end < 0 ? [] : text.slice(end + 2).split('\n');
  if (bodyLines.at(-1) === '') bodyLines.pop();
  const shown = bodyLines.slice(0, SHOW_BODY_LINES);
  const more = bodyLines.length - shown.length;
  return { headers, body: shown.map((l) => l + '\n').join(''), moreLines: more > 0 || truncated ? Math.max(more, 1) : 0 };
}

async function show(id: string, flags: QuarantineFlags): Promise<void> {
  try {
    const config = configFrom({ config: flags.config, data: flags.data });
    const entry = await withStore(config, () => null, (store) => store.getQuarantine(id));
    if (!entry) throw new KagamiError('KGM-QUARANTINE-UNKNOWN', `"${id}"`);
    const found = entry.route === 'maildir' && entry.state !== 'deleted' ? await findMessage(config, entry) : null;
    const message = found ? await preview(found.file) : null;
    if (flags.json) {
      const out = { entry: quarantineJson(entry), file: found?.file ?? null, folder: found?.folder ?? null, headers: message?.headers ?? null, body: message?.body ?? null };
      process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      return;
    }
    const lines = [
      `Id:         ${entry.id}`,
      `State:      ${entry.state}${entry.changedAt !== null ? ` at ${when(entry.changedAt)}` : ''}`,
      `Received:   ${when(entry.at)}`,
      `To:         <${entry.address}> (${entry.route} ${entry.mailbox})`,
      `MAIL FROM:  <${entry.mailFrom}>`,
      `From:       ${entry.headerFrom ?? '-'}`,
      `Subject:    ${entry.subject ?? '-'}`,
      `Reason:     ${entry.reason}`,
    ];
    if (found) lines.push(`File:       ${found.file}${found.folder === 'INBOX' ? ' (in the INBOX)' : ''}`);
    else if (entry.state === 'deleted') lines.push('File:       deleted');
    else if (entry.route !== 'maildir') lines.push(`File:       on ${elsewhere(config, entry)}`);
    else lines.push(`File:       not found under ${folderDir(config, entry.mailbox, 'Junk')} (not delivered yet, or moved by the mailbox owner)`);
    let out = lines.join('\n') + '\n';
    if (message) {
      out += '\n' + message.headers + '\n' + message.body;
      if (message.moreLines > 0) out += `[… more of the body not shown]\n`;
    }
    process.stdout.write(out);
  } catch (err) {
    fail(err);
  }
}

/** Makes sure the INBOX has tmp/new/cur: a mailbox that only ever got quarantined mail has none. */
async function ensureInbox(dir: string): Promise<void> {
  let created = false;
  for (const sub of ['tmp', 'new', 'cur']) {
    if ((await fs.mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 })) !== undefined) created = true;
  }
  if (created) await fsyncDir(dir);
}

/**
 * Moves the Junk file into the INBOX under the same name, new/ to new/ and cur/ to cur/ (a file in
 * cur/ carries ":2,flags", which a name in new/ must not: maildir(5)). Returns the new path.
 */
async function moveToInbox(config: Config, entry: QuarantineEntry): Promise<string> {
  const junk = await findTagged(config, entry, 'Junk');
  if (!junk) {
    const done = await findTagged(config, entry, 'INBOX');
    if (done) return done.file; // an earlier release moved it and stopped before the index update
    throw new KagamiError('KGM-QUARANTINE-FILE-MISSING', `no file tagged ${deliveryTag(entry.queueId, entry.idx)} under ${folderDir(config, entry.mailbox, 'Junk')}`);
  }
  const inbox = folderDir(config, entry.mailbox, 'INBOX');
  await ensureInbox(inbox);
  const dest = path.join(inbox, junk.sub, path.basename(junk.file));
  await fs.rename(junk.file, dest);
  await fsyncDir(path.dirname(dest));
  await fsyncDir(path.dirname(junk.file));
  return dest;
}

function printDone(flags: QuarantineFlags, entry: QuarantineEntry, state: 'released' | 'deleted', file: string | null, text: string): void {
  process.stdout.write(flags.json ? JSON.stringify({ id: entry.id, state, route: entry.route, mailbox: entry.mailbox, file }, null, 2) + '\n' : text + '\n');
}

/** Opens the store and finds a held entry, for release and delete. */
async function withHeldEntry(
  id: string,
  flags: QuarantineFlags,
  work: (config: Config, store: Store, entry: QuarantineEntry) => Promise<void>,
): Promise<void> {
  const config = configFrom({ config: flags.config, data: flags.data });
  await withStore(
    config,
    () => {
      throw new KagamiError('KGM-QUARANTINE-UNKNOWN', `"${id}" (no store in ${config.data_dir})`);
    },
    async (store) => {
      const entry = await getEntry(store, id);
      requireHeld(entry);
      await work(config, store, entry);
    },
  );
}

async function release(id: string, flags: QuarantineFlags): Promise<void> {
  try {
    await withHeldEntry(id, flags,
      async (config, store, entry) => {
        // While the delivery into Junk is not recorded, the worker may still (re)deliver there:
        // moving the file out now could end with two copies.
        if (entry.route === 'maildir' && (await store.messageState(entry.queueId)) === 'pending') {
          throw new KagamiError('KGM-QUARANTINE-FILE-MISSING', `${entry.id} is still in the queue; release it once it is delivered to Junk (see \`kagami queue\`)`);
        }
        const file = entry.route === 'maildir' ? await moveToInbox(config, entry) : null;
        const now = Date.now();
        // Another release or delete won the race: it has the final word.
        if (!(await store.setQuarantineState(entry.id, 'released', now))) throw notHeld(await getEntry(store, id));
        await store.recordVerdicts([
          {
            id: `${entry.id}.release.${now}`,
            queueId: entry.queueId,
            at: now,
            clientIp: '',
            ptr: null,
            helo: '',
            mailFrom: entry.mailFrom,
            headerFrom: entry.headerFrom,
            fromDomain: entry.fromDomain,
            recipients: [entry.address],
            spfResult: '',
            dkimResult: '',
            arcResult: '',
            dmarcResult: '',
            action: 'released',
            detail: { override: { type: 'local_policy', comment: 'released from quarantine by the operator' }, quarantine: entry },
          },
        ]);
        printDone(
          flags,
          entry,
          'released',
          file,
          file
            ? `Released ${entry.id}: moved to ${file}.`
            : `Released ${entry.id} in the index only. The message lives on ${elsewhere(config, entry)}: move it to the INBOX there.`,
        );
      },
    );
  } catch (err) {
    fail(err);
  }
}

async function remove(id: string, flags: QuarantineFlags): Promise<void> {
  try {
    await withHeldEntry(id, flags,
      async (config, store, entry) => {
        let file: string | null = null;
        let note: string;
        if (entry.route !== 'maildir') {
          note = `Deleted ${entry.id} in the index only. The message lives on ${elsewhere(config, entry)}: remove it there.`;
        } else {
          const junk = await findTagged(config, entry, 'Junk');
          if (junk) {
            await fs.rm(junk.file, { force: true });
            await fsyncDir(path.dirname(junk.file));
            file = junk.file;
            note = `Deleted ${entry.id}: removed ${junk.file}.`;
          } else if ((await store.messageState(entry.queueId)) === 'pending') {
            // Not in Junk yet: marking it deleted now would let the worker deliver it afterwards.
            throw new KagamiError('KGM-QUARANTINE-FILE-MISSING', `${entry.id} is still in the queue, not yet delivered to ${folderDir(config, entry.mailbox, 'Junk')}`);
          } else {
            note = `Deleted ${entry.id} in the index; its file was already gone from ${folderDir(config, entry.mailbox, 'Junk')}.`;
          }
        }
        if (!(await store.setQuarantineState(entry.id, 'deleted', Date.now()))) throw notHeld(await getEntry(store, id));
        printDone(flags, entry, 'deleted', file, note);
      },
    );
  } catch (err) {
    fail(err);
  }
}

export function registerQuarantine(program: Command): void {
  const q = withCommonOptions(program.command('quarantine').description('quarantined messages: list, show, release, delete (same as `quarantine list`)'))
    .option('--all', 'also list released and deleted entries')
    .option('--json', 'print JSON: {entries: [{id, queueId, idx, address, mailbox, route, at, …, reason, state, changedAt}]}')
    .action((flags: QuarantineFlags) => list(flags));
  const merged = (flags: QuarantineFlags, cmd: Command): QuarantineFlags => ({ ...cmd.parent?.opts(), ...flags });
  withCommonOptions(q.command('list').description('list held messages (--all: also released and deleted ones)'))
    .option('--all', 'also list released and deleted entries')
    .option('--json', 'print JSON')
    .action((flags: QuarantineFlags, cmd: Command) => list(merged(flags, cmd)));
  withCommonOptions(q.command('show').argument('<id>', '"<queue id>.<recipient index>", from `quarantine list`').description('show an entry and the header of its message'))
    .option('--json', 'print JSON: {entry, file, folder, headers, body}')
    .action((id: string, flags: QuarantineFlags, cmd: Command) => show(id, merged(flags, cmd)));
  withCommonOptions(q.command('release').argument('<id>', 'the entry to release').description("move the message from the recipient's Junk folder into the INBOX"))
    .option('--json', 'print JSON: {id, state, route, mailbox, file}')
    .action((id: string, flags: QuarantineFlags, cmd: Command) => release(id, merged(flags, cmd)));
  withCommonOptions(q.command('delete').argument('<id>', 'the entry to delete').description("remove the message from the recipient's Junk folder"))
    .option('--json', 'print JSON: {id, state, route, mailbox, file}')
    .action((id: string, flags: QuarantineFlags, cmd: Command) => remove(id, merged(flags, cmd)));
}
