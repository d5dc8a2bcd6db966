/**
 * The embedded store: SQLite in WAL mode.
 *
 * Durability without blocking: a commit with synchronous=FULL fsyncs the WAL inside the commit,
 * on the event loop's only thread, stalling every SMTP session for the fsync. Here commits run
 * with synchronous=NORMAL (the frames are written to the WAL, not synced) and a durable commit
 * then fsyncs the WAL file through the thread pool before it resolves. Frames written before the
 * fsync are then on disk, and recovery replays the WAL up to its last complete commit, so a
 * committed queue row survives power loss exactly as with FULL. The WAL file keeps its inode for
 * the life of the connection (SQLite resets it in place after a checkpoint and removes it only
 * when the last connection closes), so one handle serves. busy_timeout lets CLI commands read
 * while `kagami serve` writes.
 */
import { existsSync, promises as fs, constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import { createKyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import type { Store } from './types.js';

export interface SqliteStoreOptions {
  /** File path, or ":memory:". */
  file: string;
  readonly?: boolean;
}

/**
 * Kysely prepares every query anew; preparing costs more than running the small queue queries
 * (measured: a third of the store's CPU under load). Statements are reusable in better-sqlite3,
 * and the queue's SQL comes from a small fixed set, so they are kept by their text.
 */
function withStatementCache(db: Sqlite.Database, max = 256): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare(sql: string): SqliteStatement {
      let statement = cache.get(sql);
      if (!statement) {
        statement = db.prepare(sql) as unknown as SqliteStatement;
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

/** fsync of the WAL file (and, the first time, of its directory entry) from the thread pool. */
function walFlusher(dbFile: string): { flush(): Promise<void>; close(): Promise<void> } {
  const wal = `${dbFile}-wal`;
  let handle: Promise<FileHandle> | null = null;
  return {
    async flush() {
      if (!existsSync(wal)) return; // nothing committed through the WAL yet
      if (!handle) {
        handle = fs.open(wal, constants.O_RDONLY);
        handle.catch(() => (handle = null));
        const dir = await fs.open(path.dirname(path.resolve(dbFile)), constants.O_RDONLY | constants.O_DIRECTORY);
        try {
          await dir.sync();
        } finally {
          await dir.close();
        }
      }
      await (await handle).sync();
    },
    async close() {
      if (handle) await (await handle).close().catch(() => undefined);
    },
  };
}

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const sqlite = new Sqlite(options.file, { readonly: options.readonly ?? false });
  sqlite.pragma('busy_timeout = 5000');
  const memory = options.file === ':memory:';
  if (!options.readonly) {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(memory ? 'synchronous = FULL' : 'synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  const wal = memory || options.readonly ? null : walFlusher(options.file);
  const store = createKyselyStore(db, { dialect: 'sqlite', ...(wal ? { flushLog: () => wal.flush() } : {}) });
  return {
    ...store,
    async close() {
      await wal?.close();
      await store.close();
    },
  };
}
