/**
 * Differential check against mailauth 7's DKIM verifier (strict mode), on the shared corpus and
 * on Kagami-signed messages bent in the ways that matter. Both must agree on pass / not pass for
 * every signature, except where `KNOWN` says why they differ on purpose.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { describe, expect, it } from 'vitest';
import { generateDkimKey } from '../../src/auth/dkim/keygen.js';
import { signDkim, type DkimSignOptions } from '../../src/auth/dkim/sign.js';
import { verifyDkim } from '../../src/auth/dkim/verify.js';
import { zoneResolver } from '../../src/dns/zone.js';

const CORPUS = '/work/shared/corpus/dkim';

interface Case {
  name: string;
  message: Buffer;
  dns: Record<string, string>;
  at: number;
}

/** Where Kagami and mailauth disagree by design: case name → why. */
// Empty since Kagami tolerates t= up to a day ahead; a new entry needs its reason here.
const KNOWN: Record<string, string> = {};

function nodeDnsResolver(dns: Record<string, string>) {
  const map = new Map(Object.entries(dns).map(([k, v]) => [k.toLowerCase(), v]));
  return async (name: string, type: string) => {
    const txt = map.get(name.toLowerCase());
    if (txt === undefined) throw Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    if (type !== 'TXT') throw Object.assign(new Error(`ENODATA ${name}`), { code: 'ENODATA' });
    return [[txt]];
  };
}

async function both(c: Case): Promise<{ kagami: string[]; mailauth: string[] }> {
  const zone = zoneResolver(Object.fromEntries(Object.entries(c.dns).map(([k, v]) => [k, { TXT: [v] }])));
  const ours = await verifyDkim(c.message, zone, { now: () => c.at });
  const theirs = await dkimVerify(c.message, { resolver: nodeDnsResolver(c.dns) as never, curTime: new Date(c.at * 1000), strict: true } as never);
  return {
    kagami: ours.map((r) => (r.result === 'pass' ? 'pass' : `not pass (${r.result}: ${r.reason})`)),
    mailauth: theirs.results.map((r) => (r.status.result === 'pass' ? 'pass' : `not pass (${r.status.result}: ${r.status.comment ?? ''})`)),
  };
}

function corpusCases(): Case[] {
  const manifest = JSON.parse(readFileSync(path.join(CORPUS, 'manifest.json'), 'utf8')) as { id: string; file: string; dns: Record<string, string>; verifyTime: number }[];
  return manifest.map((v) => ({ name: `corpus ${v.id}`, message: readFileSync(path.join(CORPUS, v.file)), dns: v.dns, at: v.verifyTime }));
}

function generatedCases(): Case[] {
  const NOW = 1_800_000_000;
  const rsa = generateDkimKey({ algorithm: 'rsa2048' });
  const ed = generateDkimKey({ algorithm: 'ed25519' });
  const dns = { 'rsa._domainkey.example.com': rsa.dnsValue, 'ed._domainkey.example.com': ed.dnsValue };
  const msg = Buffer.from(
    'From: A <a@example.com>\r\nTo: b@example.net\r\nSubject: diff  test \r\nDate: Fri, 15 Jan 2027 08:00:00 +0000\r\n\r\nbody  line \t\r\n\r\nend\r\n\r\n',
  );
  const cases: Case[] = [];
  const sign = (o: Partial<DkimSignOptions>, m = msg) => {
    const key = o.algorithm === 'ed25519-sha256' ? { selector: 'ed', privateKey: ed.privateKeyPem } : { selector: 'rsa', privateKey: rsa.privateKeyPem };
    return Buffer.concat([Buffer.from(signDkim(m, { domain: 'example.com', algorithm: 'rsa-sha256', now: () => NOW, ...key, ...o } as DkimSignOptions)), m]);
  };
  const edit = (m: Buffer, from: string, to: string) => Buffer.from(m.toString('latin1').replace(from, to), 'latin1');
  for (const algorithm of ['rsa-sha256', 'ed25519-sha256'] as const) {
    for (const canonicalization of ['simple/simple', 'relaxed/relaxed', 'relaxed/simple', 'simple/relaxed'] as const) {
      const s = sign({ algorithm, canonicalization });
      const tag = `${algorithm} ${canonicalization}`;
      cases.push({ name: `${tag} as signed`, message: s, dns, at: NOW });
      cases.push({ name: `${tag} subject changed`, message: edit(s, 'diff  test', 'diff test!'), dns, at: NOW });
      cases.push({ name: `${tag} body changed`, message: edit(s, 'end\r\n', 'END\r\n'), dns, at: NOW });
      cases.push({ name: `${tag} whitespace reshaped`, message: edit(edit(s, 'Subject: diff  test ', 'Subject:   diff test'), 'body  line', 'body line'), dns, at: NOW });
      cases.push({ name: `${tag} l= and appended text`, message: Buffer.concat([sign({ algorithm, canonicalization, bodyLength: true }), Buffer.from('more\r\n')]), dns, at: NOW });
    }
  }
  const x = sign({ expiresInSeconds: 60 });
  cases.push({ name: 'before x=', message: x, dns, at: NOW + 30 });
  cases.push({ name: 'after x=', message: x, dns, at: NOW + 61 });
  cases.push({ name: 'no key', message: sign({}), dns: {}, at: NOW });
  cases.push({ name: 'revoked key', message: sign({}), dns: { 'rsa._domainkey.example.com': 'v=DKIM1; k=rsa; p=' }, at: NOW });
  cases.push({ name: 'k= mismatch', message: sign({}), dns: { 'rsa._domainkey.example.com': ed.dnsValue }, at: NOW });
  cases.push({ name: 'added From', message: Buffer.concat([Buffer.from('From: evil@example.org\r\n'), sign({})]), dns, at: NOW });
  return cases;
}

describe('Kagami and mailauth agree (pass / not pass per signature)', () => {
  for (const c of [...corpusCases(), ...generatedCases()]) {
    it(c.name, async () => {
      const { kagami, mailauth } = await both(c);
      expect(kagami.length).toBe(mailauth.length);
      const agree = kagami.every((k, i) => (k === 'pass') === (mailauth[i] === 'pass'));
      if (KNOWN[c.name]) {
        expect(agree, `listed as a known difference (${KNOWN[c.name]}) but they agree: update KNOWN`).toBe(false);
      } else {
        expect(kagami.map((k) => k === 'pass'), JSON.stringify({ kagami, mailauth }, null, 1)).toEqual(mailauth.map((m) => m === 'pass'));
      }
    });
  }
});
