/** docs/configuration.md, generated from the schema so the two cannot drift apart. */
import { z } from 'zod';
import { configSchema } from './schema.js';

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  if (s.type === 'array') return `array of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') {
    return `table of ${typeOf(s.additionalProperties)}`;
  }
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'value');
}

function rows(schema: JsonSchema, prefix: string, out: string[], sections: Array<[string, JsonSchema]>): void {
  for (const [key, prop] of Object.entries(schema.properties ?? {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (prop.type === 'object' && prop.properties) {
      sections.push([name, prop]);
      continue;
    }
    const def = prop.default === undefined ? '' : `\`${JSON.stringify(prop.default)}\``;
    out.push(`| \`${name}\` | ${typeOf(prop)} | ${def} | ${(prop.description ?? '').replace(/\|/g, '\\|')} |`);
  }
}

export function configurationMarkdown(): string {
  const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs`; test/protocol/config/docs.test.ts checks it. -->',
    '',
    'One TOML file, given with `--config FILE`. Every setting has a default, so Kagami runs with no',
    'file at all. Command-line flags (`--data`, `--smtp-port`, `--http-port`, `--dns`, `--hostname`,',
    '`--domain`, `--listen`, `--tls-cert`, `--tls-key`, `--log-level`) win over the file. With',
    '`--smtp-port 0`, every listener whose port is not given also takes a free port. Paths in the file',
    'are relative to the file. The configuration is checked once at start; a mistake stops Kagami with',
    '`KGM-CONFIG-INVALID` naming the setting.',
    '',
    '```toml',
    'hostname = "mx.example.com"',
    'domains = ["example.com", "example.org"]',
    'data_dir = "/var/lib/kagami"',
    'listen = "0.0.0.0"',
    'run_as = "kagami"',
    '',
    '[smtp]',
    'port = 25',
    '',
    '[limits]',
    'message_size = 52428800',
    '',
    '[delivery]',
    'unknown_local_user = "reject"',
    'local_users = ["alice", "bob@example.org"]',
    '',
    '[aliases]',
    '"info@example.com" = ["alice", "partner@elsewhere.example"]',
    '```',
    '',
  ];
  const sections: Array<[string, JsonSchema]> = [];
  const top: string[] = [];
  rows(root, '', top, sections);
  lines.push('## Top level', '', '| setting | type | default | meaning |', '|---|---|---|---|', ...top, '');
  while (sections.length > 0) {
    const [name, schema] = sections.shift()!;
    const body: string[] = [];
    rows(schema, name, body, sections);
    lines.push(`## [${name}]`, '', '| setting | type | default | meaning |', '|---|---|---|---|', ...body, '');
  }
  return lines.join('\n');
}
