/**
 * The embedded store: SQLite in WAL mode. synchronous=FULL makes every commit fsync the WAL, so a
 * committed queue row survives power loss; commits are batched by the caller (group commit).
 * busy_timeout lets CLI commands read while `kagami serve` writes.
 */
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

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const sqlite = new Sqlite(options.file, { readonly: options.readonly ?? false });
  sqlite.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  return createKyselyStore(db);
}
