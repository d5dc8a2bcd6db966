import path from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../support/server.js';
import { runStoreContract } from './store.contract.js';

runStoreContract('SQLite file (WAL)', async () => openSqliteStore({ file: path.join(tempDir('kagami-store-'), 'kagami.db') }));
runStoreContract('SQLite in memory', async () => openSqliteStore({ file: ':memory:' }));
