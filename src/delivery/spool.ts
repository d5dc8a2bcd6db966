/**
 * The spool: one file per accepted message, named by queue id, holding the message exactly as
 * received (dot-unstuffed, CRLF kept). A file is durable after commit() (its own fsync) plus an
 * fsync of the spool directory, which the acceptor runs once per group of messages.
 * A spool file with no queue row was never acknowledged and is removed at start-up.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface SpoolFile {
  /** Appends bytes; resolves when the OS has them. */
  write(chunk: Uint8Array): Promise<void>;
  /** fsyncs and closes the file. */
  commit(): Promise<void>;
  /** Closes and removes the file (the transaction failed or was cut off). */
  abort(): Promise<void>;
}

export interface Spool {
  readonly dir: string;
  pathOf(id: string): string;
  create(id: string): Promise<SpoolFile>;
  read(id: string): Promise<Buffer>;
  remove(id: string): Promise<void>;
  /** Queue ids that have a spool file. */
  list(): Promise<string[]>;
}

const SUFFIX = '.eml';

export async function openSpool(dir: string): Promise<Spool> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const pathOf = (id: string) => path.join(dir, id + SUFFIX);

  async function create(id: string): Promise<SpoolFile> {
    const file = pathOf(id);
    const handle = await fs.open(file, 'wx', 0o600);
    let closed = false;
    return {
      async write(chunk) {
        let offset = 0;
        while (offset < chunk.length) {
          const { bytesWritten } = await handle.write(chunk, offset, chunk.length - offset);
          offset += bytesWritten;
        }
      },
      async commit() {
        await handle.sync();
        closed = true;
        await handle.close();
      },
      async abort() {
        if (!closed) {
          closed = true;
          await handle.close().catch(() => undefined);
        }
        await fs.rm(file, { force: true });
      },
    };
  }

  return {
    dir,
    pathOf,
    create,
    read: (id) => fs.readFile(pathOf(id)),
    remove: (id) => fs.rm(pathOf(id), { force: true }),
    async list() {
      const names = await fs.readdir(dir);
      return names.filter((n) => n.endsWith(SUFFIX)).map((n) => n.slice(0, -SUFFIX.length));
    },
  };
}
