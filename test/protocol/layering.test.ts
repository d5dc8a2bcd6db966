/**
 * The layering of DESIGN.md §2, enforced: dependencies point one way
 * (core ← dns, message ← auth ← policy ← pipeline ← main); protocol code never reaches the edges;
 * only main.ts and runtime.ts (and the CLI that runs them) build concrete adapters.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function importsOf(file: string, { types = true } = {}): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s(type\s)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    if (types || !m[2]) found.push(m[3]!);
  }
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]!);
  return found
    .filter((s) => s.startsWith('.'))
    .map((s) => path.relative(SRC, path.resolve(path.dirname(file), s)).replace(/\.js$/, ''));
}

/** For each layer, the layers it must not import. */
const FORBIDDEN: Record<string, string[]> = {
  core: ['dns', 'psl', 'message', 'auth', 'policy', 'smtp', 'pipeline', 'delivery', 'store', 'web', 'cli', 'main', 'observability', 'config'],
  dns: ['message', 'auth', 'policy', 'smtp', 'pipeline', 'delivery', 'store', 'web', 'cli', 'main'],
  message: ['dns', 'auth', 'policy', 'smtp', 'pipeline', 'delivery', 'store', 'web', 'cli', 'main'],
  auth: ['policy', 'smtp', 'pipeline', 'delivery', 'store', 'web', 'cli', 'main'],
  policy: ['smtp', 'pipeline', 'delivery', 'store', 'web', 'cli', 'main'],
  store: ['smtp', 'pipeline', 'delivery', 'web', 'cli', 'main', 'auth', 'policy'],
  smtp: ['pipeline', 'auth', 'policy', 'store', 'web', 'cli', 'main'],
  delivery: ['pipeline', 'web', 'cli', 'main', 'auth', 'policy'],
  pipeline: ['web', 'cli', 'main'],
  web: ['cli', 'main'],
  config: ['dns', 'message', 'auth', 'policy', 'smtp', 'pipeline', 'delivery', 'store', 'web', 'cli', 'main'],
};

describe('layering', () => {
  const all = files(SRC);
  for (const [layer, forbidden] of Object.entries(FORBIDDEN)) {
    it(`${layer}/ imports none of ${forbidden.join(', ')}`, () => {
      const offences: string[] = [];
      for (const file of all.filter((f) => path.relative(SRC, f).startsWith(layer + '/'))) {
        for (const target of importsOf(file)) {
          const top = target.split('/')[0]!;
          if (forbidden.includes(top)) offences.push(`${path.relative(SRC, file)} → ${target}`);
        }
      }
      expect(offences).toEqual([]);
    });
  }

  it('only main.ts and runtime.ts open the SQLite store, the DNS stub and the listeners (the CLI reads the store)', () => {
    const builders = ['store/sqlite', 'dns/stub', 'smtp/server/mx', 'web/app'];
    const offences = all
      .filter((f) => !['main.ts', 'runtime.ts'].includes(path.relative(SRC, f)) && !path.relative(SRC, f).startsWith('cli/'))
      .flatMap((f) => importsOf(f, { types: false }).filter((t) => builders.includes(t)).map((t) => `${path.relative(SRC, f)} → ${t}`));
    expect(offences).toEqual([]);
  });
});
