import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown } from '../../../src/config/docs.js';
import { applyOverrides, loadConfig, validateConfig } from '../../../src/config/load.js';
import { KagamiError } from '../../../src/core/errors.js';

describe('configuration', () => {
  it('runs with no file: every setting has a default', () => {
    const c = loadConfig({});
    expect(c.smtp.port).toBe(2525);
    expect(c.http.port).toBe(8025);
    expect(c.listen).toBe('127.0.0.1');
    expect(c.delivery.unknown_local_user).toBe('accept');
    expect(path.isAbsolute(c.data_dir)).toBe(true);
  });

  it('is frozen after validation', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.limits)).toBe(true);
    expect(() => {
      (c.limits as { recipients: number }).recipients = 1;
    }).toThrow();
  });

  it('lets flags win over the file, and reads paths relative to the file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kagami-config-'));
    const file = path.join(dir, 'kagami.toml');
    writeFileSync(file, 'data_dir = "state"\nhostname = "mx.file.test"\n[smtp]\nport = 2600\n[limits]\nrecipients = 5\n');
    const c = loadConfig({ config: file, smtpPort: 2700, domain: ['A.Example'] });
    expect(c.data_dir).toBe(path.join(dir, 'state'));
    expect(c.hostname).toBe('mx.file.test');
    expect(c.smtp.port).toBe(2700);
    expect(c.limits.recipients).toBe(5);
    expect(c.domains).toEqual(['a.example']);
  });

  it('--smtp-port 0 sends every listener without its own port to a free port', () => {
    expect(validateConfig(applyOverrides({}, { smtpPort: 0 })).http.port).toBe(0);
    expect(validateConfig(applyOverrides({ http: { port: 9000 } }, { smtpPort: 0 })).http.port).toBe(9000);
    expect(validateConfig(applyOverrides({}, { smtpPort: 0, httpPort: 9001 })).http.port).toBe(9001);
    expect(validateConfig(applyOverrides({}, { smtpPort: 2600 })).http.port).toBe(8025);
  });

  it('names the setting that is wrong', () => {
    const attempt = () => validateConfig({ limits: { recipients: -1 }, bogus: 1 });
    expect(attempt).toThrow(KagamiError);
    try {
      attempt();
    } catch (err) {
      expect((err as KagamiError).code).toBe('KGM-CONFIG-INVALID');
      expect((err as Error).message).toMatch(/limits\.recipients/);
      expect((err as Error).message).toMatch(/bogus/);
    }
  });

  it('reports a TOML syntax error with its line', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kagami-config-'));
    const file = path.join(dir, 'bad.toml');
    writeFileSync(file, 'hostname = "x"\n[smtp\nport = 1\n');
    expect(() => loadConfig({ config: file })).toThrow(/KGM|line 2/);
    try {
      loadConfig({ config: file });
    } catch (err) {
      expect((err as KagamiError).code).toBe('KGM-CONFIG-UNREADABLE');
      expect((err as Error).message).toMatch(/line 2/);
    }
  });

  it('matches docs/configuration.md (run `npm run docs` after changing the schema)', () => {
    expect(readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')).toBe(configurationMarkdown());
  });
});
