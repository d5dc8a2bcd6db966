/**
 * How CLI commands open the store of a data directory: the same SQLite file a running
 * `kagami serve` writes (WAL, busy timeout), migrated, closed when the work is done.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { dataPaths } from '../runtime.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';

/**
 * Runs `work` on the store of `dataDir`. Without a store there yet, returns `none()` — or, with
 * `create`, makes one (commands that write, such as imports).
 */
export async function withDataStore<T>(
  dataDir: string,
  work: (store: Store) => Promise<T>,
  none: () => T,
  options: { create?: boolean } = {},
): Promise<T> {
  const file = dataPaths(dataDir).db;
  if (!existsSync(file)) {
    if (!options.create) return none();
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  }
  const store = openSqliteStore({ file });
  try {
    await store.migrate();
    return await work(store);
  } finally {
    await store.close();
  }
}
