/**
 * The import without the CLI around it (BENCH_VIA=api in run.ts): the store opened as
 * `kagami reports import` opens it (openSqliteStore on DATA/kagami.db, migrated) and the same
 * importPaths, writing the CLI's non-terminal progress lines ("[done/total] name") to stderr.
 * For when the CLI's other modules do not load, or to profile the import alone.
 *
 *   node bench/ingest/import-api.ts BUILD_DIR DATA_DIR PATH...
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [build, data, ...paths] = process.argv.slice(2);
if (!build || !data || paths.length === 0) {
  process.stderr.write('usage: node bench/ingest/import-api.ts BUILD_DIR DATA_DIR PATH...\n');
  process.exit(2);
}
const load = (m: string) => import(pathToFileURL(path.join(build, m)).href);
const { openSqliteStore } = await load('store/sqlite.js');
const { importPaths } = await load('reports/ingest/files.js');
mkdirSync(data, { recursive: true, mode: 0o700 });
const store = openSqliteStore({ file: path.join(data, 'kagami.db') });
try {
  await store.migrate();
  const s = await importPaths(paths, {
    store,
    onProgress: (done: number, total: number, name: string) => process.stderr.write(`[${done}/${total}] ${name}\n`),
  });
  process.stdout.write(`${s.files} files: ${s.stored} reports stored, ${s.duplicates} duplicates, ${s.rejected.length} rejected.\n`);
} finally {
  await store.close();
}
