/**
 * The shared DKIM corpus (shared/corpus/dkim/manifest.json): published vectors from RFC 8463,
 * Stalwart's mail-auth, go-msgauth and dkimpy. Each entry verifies through `zoneResolver` built
 * from its `dns` map at its `verifyTime`; a signature whose key is in `dns` must pass, any other
 * must not. Entries where Kagami differs on purpose are listed, with the reason, in
 * dkim-expectations.json; they still run and assert the documented results.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DkimResult } from '../../src/auth/dkim/types.js';
import { verifyDkim } from '../../src/auth/dkim/verify.js';
import { zoneResolver, type ZoneData } from '../../src/dns/zone.js';
import expectations from './dkim-expectations.json' with { type: 'json' };

const CORPUS = '/work/shared/corpus/dkim';

interface Vector {
  id: string;
  file: string;
  dns: Record<string, string>;
  verifyTime: number;
  expect: string;
  source: string;
}

interface Expectation {
  reason: string;
  signatures: { index: number; result: DkimResult['result']; code: string }[];
  passesAt?: number;
}

const manifest = JSON.parse(readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as Vector[];
const listed = expectations.entries as Record<string, Expectation>;

function run(v: Vector, at: number): Promise<DkimResult[]> {
  const zone: ZoneData = {};
  for (const [name, txt] of Object.entries(v.dns)) zone[name.toLowerCase()] = { TXT: [txt] };
  return verifyDkim(readFileSync(path.join(CORPUS, v.file)), zoneResolver(zone), { now: () => at });
}

describe('DKIM corpus (shared/corpus/dkim/manifest.json)', () => {
  it('has entries, and every listed expectation names one of them', () => {
    expect(manifest.length).toBeGreaterThan(0);
    for (const id of Object.keys(listed)) expect(manifest.map((v) => v.id)).toContain(id);
  });

  for (const v of manifest) {
    const deviation = listed[v.id];
    it(`${v.id} (${v.file}): ${deviation ? `listed: ${deviation.signatures.map((s) => s.code).join(', ')}` : v.expect}`, async () => {
      const results = await run(v, v.verifyTime);
      expect(results.length, 'one result per DKIM-Signature').toBeGreaterThan(0);
      const keys = new Set(Object.keys(v.dns).map((k) => k.toLowerCase()));
      results.forEach((r, index) => {
        const listedSig = deviation?.signatures.find((s) => s.index === index);
        const label = `#${index} ${r.selector}._domainkey.${r.domain}: ${r.result} (${r.reason})`;
        if (listedSig) {
          expect({ result: r.result, code: r.code }, label).toEqual({ result: listedSig.result, code: listedSig.code });
        } else {
          const want = keys.has(`${r.selector}._domainkey.${r.domain}`.toLowerCase()) ? 'pass' : 'not pass';
          expect(r.result === 'pass' ? 'pass' : 'not pass', label).toBe(want);
        }
      });
      if (deviation?.passesAt !== undefined) {
        const later = await run(v, deviation.passesAt);
        expect(later.map((r) => r.result), `at ${deviation.passesAt}`).toEqual(later.map(() => 'pass'));
      }
    });
  }
});
