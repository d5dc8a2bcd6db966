import { describe, expect, it } from 'vitest';
import { parseTimeSpec } from '../../../src/cli/time.js';

const NOW = Date.UTC(2026, 11, 4, 16, 15, 36, 237); // 2026-12-04T16:15:36.237Z

describe('parseTimeSpec', () => {
  const valid: [string, string][] = [
    ['30m', '2026-12-04T15:45:36.237Z'],
    ['24h', '2026-12-03T16:15:36.237Z'],
    ['7d', '2026-11-27T16:15:36.237Z'],
    ['2w', '2026-11-20T16:15:36.237Z'],
    ['90s', '2026-12-04T16:14:06.237Z'],
    ['0h', '2026-12-04T16:15:36.237Z'],
    [' 1h ', '2026-12-04T15:15:36.237Z'],
    ['2026-12-04', '2026-12-04T00:00:00.000Z'],
    ['2026-12-04T16:15', '2026-12-04T16:15:00.000Z'],
    ['2026-12-04T16:15:36', '2026-12-04T16:15:36.000Z'],
    ['2026-12-04 16:15:36', '2026-12-04T16:15:36.000Z'],
    ['2026-12-04T16:15:36.5Z', '2026-12-04T16:15:36.500Z'],
    ['2026-12-04T16:15:36.123456Z', '2026-12-04T16:15:36.123Z'],
    ['2026-12-04t16:15:36z', '2026-12-04T16:15:36.000Z'],
    ['2026-12-04T17:15:36+01:00', '2026-12-04T16:15:36.000Z'],
    ['2026-12-04T11:45:36-0430', '2026-12-04T16:15:36.000Z'],
    ['2026-12-05T01:15+09:00', '2026-12-04T16:15:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ];
  for (const [text, iso] of valid) {
    it(`reads "${text}" as ${iso}`, () => {
      const r = parseTimeSpec(text, NOW);
      expect(r).toEqual({ ok: true, ms: Date.parse(iso) });
    });
  }

  const invalid: [string, RegExp][] = [
    ['', /expected an ISO 8601 time/],
    ['yesterday', /expected an ISO 8601 time/],
    ['7', /expected/],
    ['-7d', /expected/],
    ['7 d', /expected/],
    ['1y', /expected/],
    ['1.5h', /expected/],
    ['2026-13-01', /out of range/],
    ['2026-00-10', /out of range/],
    ['2026-02-30', /no such day/],
    ['2025-02-29', /no such day/],
    ['2026-12-00', /no such day/],
    ['2026-12-04T24:00', /out of range/],
    ['2026-12-04T16:60', /out of range/],
    ['2026-12-04T16:15:61Z', /out of range/],
    ['2026-12-04T16:15+25:00', /offset is out of range/],
    ['2026-12-04T16', /expected/],
    ['2026-12-4', /expected/],
    ['1764864936', /expected/],
  ];
  for (const [text, error] of invalid) {
    it(`refuses "${text}"`, () => {
      const r = parseTimeSpec(text, NOW);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(error);
    });
  }
});
