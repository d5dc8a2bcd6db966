// Regenerates docs/configuration.md and docs/errors.md: `npm run docs`.
import { writeFileSync } from 'node:fs';
import { configurationMarkdown } from '../src/config/docs.js';
import { errorsMarkdown } from '../src/core/errors-doc.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configurationMarkdown());
writeFileSync(new URL('../docs/errors.md', import.meta.url), errorsMarkdown());
console.log('wrote docs/configuration.md and docs/errors.md');
