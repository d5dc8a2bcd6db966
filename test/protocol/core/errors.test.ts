import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorsMarkdown } from '../../../src/core/errors-doc.js';
import { errorCatalogue, KagamiError, smtpReply } from '../../../src/core/errors.js';

describe('error catalogue', () => {
  it('matches docs/errors.md (run `npm run docs` after changing it)', () => {
    expect(readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8')).toBe(errorsMarkdown());
  });

  it('has unique KGM- codes, and SMTP replies whose class matches temporary/permanent', () => {
    const codes = errorCatalogue.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of errorCatalogue) {
      expect(e.code).toMatch(/^KGM-[A-Z0-9-]+$/);
      expect(e.action.length).toBeGreaterThan(10);
      if (e.smtp) {
        expect(String(e.smtp.code)[0]).toBe(e.temporary ? '4' : '5');
        expect(e.smtp.enhanced[0]).toBe(String(e.smtp.code)[0]);
      }
    }
  });

  it('formats replies with the enhanced code first', () => {
    expect(smtpReply('KGM-RELAY-DENIED')).toEqual({ responseCode: 550, message: '5.7.1 relaying denied' });
  });

  it('describes an error with what to do next', () => {
    const err = new KagamiError('KGM-LISTEN-FAILED', '127.0.0.1:25 EADDRINUSE');
    expect(err.describe()).toMatch(/^KGM-LISTEN-FAILED: .*EADDRINUSE\n  What to do: /);
  });
});
