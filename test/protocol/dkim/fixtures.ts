/** Shared fixtures for the DKIM tables: keys made once per file, messages, zones. */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { generateDkimKey } from '../../../src/auth/dkim/keygen.js';
import { zoneResolver, type ZoneData } from '../../../src/dns/zone.js';

export const NOW = 1_800_000_000; // 2027-01-15, a fixed clock for t=, x= and TTLs

export interface TestKey {
  selector: string;
  privateKey: KeyObject;
  dnsValue: string;
}

export function makeKeys(): { rsa: TestKey; ed: TestKey } {
  const rsa = generateDkimKey({ algorithm: 'rsa2048' });
  const ed = generateDkimKey({ algorithm: 'ed25519' });
  return {
    rsa: { selector: 'rsa', privateKey: createPrivateKey(rsa.privateKeyPem), dnsValue: rsa.dnsValue },
    ed: { selector: 'ed', privateKey: createPrivateKey(ed.privateKeyPem), dnsValue: ed.dnsValue },
  };
}

/** An RSA key of any size, with its record (for the RFC 8301 size checks). */
export function rsaKeyOfBits(bits: number): { privateKey: KeyObject; dnsValue: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { privateKey, dnsValue: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
}

export function zoneFor(domain: string, keys: TestKey[], extra: ZoneData = {}) {
  const zone: ZoneData = { ...extra };
  for (const k of keys) zone[`${k.selector}._domainkey.${domain}`] = { TXT: [k.dnsValue], ttl: 3600 };
  return zoneResolver(zone);
}

export const HEADER = [
  'From: Alice Example <alice@example.com>',
  'To: Bob <bob@example.net>',
  'Subject: Quarterly numbers',
  'Date: Fri, 15 Jan 2027 08:00:00 +0000',
  'Message-ID: <q4-2026@example.com>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
];

export const BODY = ['Hello Bob,', '', 'the numbers are   attached.\t', 'Grüße,', 'Alice', '', ''];

export function message(header: string[] = HEADER, body: string[] = BODY): Buffer {
  return Buffer.from(`${header.join('\r\n')}\r\n\r\n${body.join('\r\n')}`, 'utf8');
}

/** Puts a signature field in front of a message. */
export function prepend(field: string, msg: Buffer): Buffer {
  return Buffer.concat([Buffer.from(field, 'latin1'), msg]);
}

/** Replaces the first occurrence of `from` by `to` in the message bytes. */
export function tamper(msg: Buffer, from: string, to: string): Buffer {
  const s = msg.toString('latin1');
  const i = s.indexOf(from);
  if (i < 0) throw new Error(`tamper: "${from}" not in message`);
  return Buffer.from(s.slice(0, i) + to + s.slice(i + from.length), 'latin1');
}
