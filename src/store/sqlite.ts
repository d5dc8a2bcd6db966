/**
 * The embedded store: SQLite in WAL mode. synchronous=FULL makes every commit fsync the WAL, so a
 * committed queue row survives power loss; commits are batched by the caller (group commit).
 * busy_timeout lets CLI commands read while `kagami serve` writes.
 */
import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { createKyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import type { Store } from './types.js';

export interface SqliteStoreOptions {
  /** File path, or ":memory:". */
  file: string;
  readonly?: boolean;
}

export function openSqliteStore(options: SqliteStoreOptions): Store {
  const sqlite = new Sqlite(options.file, { readonly: options.readonly ?? false });
  sqlite.pragma('busy_timeout = 5000');
  if (!options.readonly) {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('foreign_keys = ON');
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return createKyselyStore(db);
}
