/** docs/errors.md, generated from the error catalogue. */
import { errorCatalogue } from './errors.js';

export function errorsMarkdown(): string {
  const lines = [
    '# Errors',
    '',
    '<!-- Generated from src/core/errors.ts by `npm run docs`; test/protocol/core/errors.test.ts checks it. -->',
    '',
    'Every error a user or operator can meet has a stable `KGM-` code. SMTP replies carry the',
    'enhanced status code and a short text; the log line for the same event carries the code and',
    'the detail.',
    '',
    '| code | class | SMTP reply | meaning | what to do |',
    '|---|---|---|---|---|',
  ];
  for (const e of errorCatalogue) {
    const reply = e.smtp ? `\`${e.smtp.code} ${e.smtp.enhanced} ${e.smtp.text}\`` : '';
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    lines.push(`| \`${e.code}\` | ${e.temporary ? 'temporary' : 'permanent'} | ${esc(reply)} | ${esc(e.message)} | ${esc(e.action)} |`);
  }
  return lines.join('\n') + '\n';
}
