/**
 * Maildir delivery (https://cr.yp.to/proto/maildir.html, Maildir++ for folders): write to tmp/,
 * fsync, rename into new/, fsync new/. The unique name carries the queue id and recipient index
 * ("Q<id>R<idx>"), so after a crash between the rename and the queue update the next attempt
 * finds the file and does not deliver twice.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fsyncDir, type DirSyncer } from './fsync.js';

export interface MaildirDelivery {
  /** Delivers `parts` (written in order) to the mailbox "<domain>/<user>", in `folder` ("" = INBOX, "Junk", …). */
  deliver(opts: { mailbox: string; folder?: string; tag: string; parts: Uint8Array[] }): Promise<string>;
  /**
   * Delivers a file that already holds the whole message (a complete spool file) by linking it
   * into new/: no copy, no second fsync of the data. Falls back to a copy across file systems.
   */
  deliverFile(opts: { mailbox: string; folder?: string; tag: string; file: string; size: number }): Promise<string>;
  /** Whether a message with this tag is already in the mailbox folder (new/ or cur/). */
  hasDelivered(opts: { mailbox: string; folder?: string; tag: string }): Promise<boolean>;
  /** The folder path of a mailbox, for tests and the CLI. */
  folderPath(mailbox: string, folder?: string): string;
}

/** The tag that makes a delivery idempotent per queue id and recipient. */
export const deliveryTag = (queueId: string, idx: number): string => `Q${queueId}R${idx}`;

// Maildir names must not hold "/" or ":"; the spec escapes them as octal.
const safeHost = (h: string) => h.replace(/\//g, '\\057').replace(/:/g, '\\072');

export function createMaildirDelivery(opts: { root: string; hostname: string; dirSyncer: DirSyncer }): MaildirDelivery {
  const host = safeHost(opts.hostname);
  const ready = new Set<string>();
  let counter = 0;

  function folderPath(mailbox: string, folder = ''): string {
    const base = path.join(opts.root, mailbox);
    return folder ? path.join(base, '.' + folder) : base;
  }

  /** Creates tmp/new/cur (and the parents) once, durably, so a new mailbox survives a crash. */
  async function ensure(dir: string, isFolder: boolean): Promise<void> {
    if (ready.has(dir)) return;
    let created = false;
    for (const sub of ['tmp', 'new', 'cur']) {
      const made = await fs.mkdir(path.join(dir, sub), { recursive: true, mode: 0o700 });
      if (made !== undefined) created = true;
    }
    if (isFolder) {
      await fs.writeFile(path.join(dir, 'maildirfolder'), '', { flag: 'a', mode: 0o600 });
    }
    if (created) {
      // Make every directory level we may have created durable, up to the mail root.
      let d = dir;
      await fsyncDir(d);
      while (d !== opts.root && d.startsWith(opts.root)) {
        d = path.dirname(d);
        await fsyncDir(d);
      }
    }
    ready.add(dir);
  }

  async function deliver(o: { mailbox: string; folder?: string; tag: string; parts: Uint8Array[] }): Promise<string> {
    const dir = folderPath(o.mailbox, o.folder);
    await ensure(dir, Boolean(o.folder));
    const size = o.parts.reduce((n, p) => n + p.length, 0);
    const name = uniqueName(o.tag, size);
    const tmp = path.join(dir, 'tmp', name);
    let handle;
    try {
      handle = await fs.open(tmp, 'wx', 0o600);
    } catch (err) {
      // The folder may have been removed behind our back: re-create it on the next attempt.
      ready.delete(dir);
      throw err;
    }
    try {
      const { bytesWritten } = await handle.writev(o.parts);
      if (bytesWritten !== size) throw new Error(`short write to ${tmp}: ${bytesWritten} of ${size} bytes`);
      await handle.sync();
    } catch (err) {
      await handle.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await handle.close();
    const final = path.join(dir, 'new', name);
    try {
      await fs.rename(tmp, final);
    } catch (err) {
      ready.delete(dir);
      await fs.rm(tmp, { force: true });
      throw err;
    }
    await opts.dirSyncer.sync(path.join(dir, 'new'));
    return final;
  }

  function uniqueName(tag: string, size: number): string {
    const now = Date.now();
    const usec = (now % 1000) * 1000 + (counter++ % 1000);
    return `${Math.floor(now / 1000)}.M${usec}P${process.pid}${tag}.${host},S=${size}`;
  }

  async function deliverFile(o: { mailbox: string; folder?: string; tag: string; file: string; size: number }): Promise<string> {
    const dir = folderPath(o.mailbox, o.folder);
    await ensure(dir, Boolean(o.folder));
    const final = path.join(dir, 'new', uniqueName(o.tag, o.size));
    try {
      // link() is atomic and the data is already on disk (fsynced before the 250).
      await fs.link(o.file, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK') {
        return deliver({ mailbox: o.mailbox, ...(o.folder ? { folder: o.folder } : {}), tag: o.tag, parts: [await fs.readFile(o.file)] });
      }
      ready.delete(dir);
      throw err;
    }
    await opts.dirSyncer.sync(path.join(dir, 'new'));
    return final;
  }

  async function hasDelivered(o: { mailbox: string; folder?: string; tag: string }): Promise<boolean> {
    const dir = folderPath(o.mailbox, o.folder);
    const needle = `${o.tag}.`;
    for (const sub of ['new', 'cur']) {
      let names: string[];
      try {
        names = await fs.readdir(path.join(dir, sub));
      } catch {
        continue;
      }
      if (names.some((n) => n.includes(needle))) return true;
    }
    return false;
  }

  return { deliver, deliverFile, hasDelivered, folderPath };
}
