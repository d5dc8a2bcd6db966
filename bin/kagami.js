#!/usr/bin/env node
// The kagami command. The TypeScript sources are built to dist/ by `npm run build`
// (npm start and npm test build first); this file only checks the Node version and loads them.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `kagami: Node.js ${process.versions.node} is too old; Kagami needs Node.js >= 22.19.\n` +
      `  On this host run:  . scripts/node24.sh   (installs Node 24 from the npm registry into ~/.cache)\n`,
  );
  process.exit(1);
}
try {
  await import('../dist/cli/index.js');
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/index.js')) {
    process.stderr.write('kagami: dist/ is missing; run `npm run build` first.\n');
    process.exit(1);
  }
  throw err;
}
