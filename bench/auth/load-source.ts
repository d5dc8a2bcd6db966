/**
 * Loads Kagami's TypeScript sources for the shared auth-anchors harness with Node's own type
 * stripping: a resolve hook maps the `.js` specifiers of files under src/ to their `.ts` files,
 * so the code measured is our source with its types erased, as tsc would emit it (a loader such
 * as tsx adds its own helpers to every closure and distorts a microbenchmark).
 */
import { registerHooks } from 'node:module';

const SRC = new URL('../../src/', import.meta.url).href;
registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (err) {
      if (!specifier.endsWith('.js') || !context.parentURL?.startsWith(SRC)) throw err;
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    }
  },
});

/** Imports a module of src/ by its path relative to src/ ("auth/dkim/verify"). */
export function loadSource<T>(relative: string): Promise<T> {
  return import(new URL(`${relative}.ts`, SRC).href) as Promise<T>;
}
