/**
 * Interop with dkimpy (Debian python3-dkim, run under /usr/bin/python3): messages signed by
 * dkimpy verify in Kagami, and messages signed by Kagami verify in dkimpy (keys handed to it
 * through its `dnsfunc` hook). A missing peer fails the run: apt-get install python3-dkim
 * python3-nacl.
 */
import { spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateDkimKey } from '../../src/auth/dkim/keygen.js';
import { signDkim } from '../../src/auth/dkim/sign.js';
import type { CanonicalizationPair, DkimAlgorithm } from '../../src/auth/dkim/types.js';
import { verifyDkim } from '../../src/auth/dkim/verify.js';
import { zoneResolver } from '../../src/dns/zone.js';

const PYTHON = '/usr/bin/python3';

/** Reads a JSON list of requests on stdin, answers a JSON list. */
const PEER = String.raw`
import base64, json, sys
import dkim

def dnsfunc_for(records):
    m = {k.lower().rstrip('.'): v.encode('latin-1') for k, v in records.items()}
    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode('ascii', 'replace')
        return m.get(name.lower().rstrip('.'))
    return dnsfunc

def handle(req):
    msg = base64.b64decode(req['message'])
    if req['op'] == 'sign':
        hc, bc = req['canonicalization'].split('/')
        sig = dkim.sign(msg, req['selector'].encode(), req['domain'].encode(), req['key'].encode(),
                        canonicalize=(hc.encode(), bc.encode()),
                        signature_algorithm=req['algorithm'].encode(),
                        length=req.get('length', False))
        return {'signature': sig.decode('latin-1')}
    d = dkim.DKIM(msg, minkey=1024)
    count = len([1 for name, _ in d.headers if name.lower() == b'dkim-signature'])
    f = dnsfunc_for(req['dns'])
    return {'results': [bool(dkim.DKIM(msg, minkey=1024).verify(idx=i, dnsfunc=f)) for i in range(count)]}

out = []
for req in json.load(sys.stdin):
    try:
        out.append(handle(req))
    except Exception as e:
        out.append({'error': repr(e)})
print(json.dumps(out))
`;

type PeerRequest =
  | { op: 'sign'; message: string; selector: string; domain: string; key: string; algorithm: DkimAlgorithm; canonicalization: CanonicalizationPair; length?: boolean }
  | { op: 'verify'; message: string; dns: Record<string, string> };
type PeerAnswer = { signature?: string; results?: boolean[]; error?: string };

function dkimpy(requests: PeerRequest[]): Promise<PeerAnswer[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', PEER]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`dkimpy exited ${code}: ${err}`));
      resolve(JSON.parse(out) as PeerAnswer[]);
    });
    child.stdin.end(JSON.stringify(requests));
  });
}

const DOMAIN = 'interop.example';
const rsa = generateDkimKey({ algorithm: 'rsa2048' });
const ed = generateDkimKey({ algorithm: 'ed25519' });
const DNS = { [`rsa._domainkey.${DOMAIN}`]: rsa.dnsValue, [`ed._domainkey.${DOMAIN}`]: ed.dnsValue };
const resolver = () => zoneResolver(Object.fromEntries(Object.entries(DNS).map(([k, v]) => [k, { TXT: [v] }])));

/** dkimpy takes RSA keys as PKCS#1 PEM and Ed25519 keys as the base64 32-byte seed. */
const DKIMPY_KEYS: Record<DkimAlgorithm, { selector: string; key: string }> = {
  'rsa-sha256': { selector: 'rsa', key: createPrivateKey(rsa.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString() },
  'ed25519-sha256': {
    selector: 'ed',
    key: Buffer.from(createPrivateKey(ed.privateKeyPem).export({ format: 'jwk' }).d!, 'base64url').toString('base64'),
  },
};
const KAGAMI_KEYS: Record<DkimAlgorithm, { selector: string; pem: string }> = {
  'rsa-sha256': { selector: 'rsa', pem: rsa.privateKeyPem },
  'ed25519-sha256': { selector: 'ed', pem: ed.privateKeyPem },
};

/** A message with what canonicalization must cope with: folding, tabs, trailing WSP, 8-bit, blank tail. */
const MESSAGE = Buffer.from(
  [
    'From: "Ana Müller" <ana@interop.example>',
    'To: team@example.net,',
    '\tops@example.net',
    'Subject:  Interop   check  ',
    'Date: Fri, 04 Dec 2026 12:00:00 +0000',
    'Message-ID: <interop-1@interop.example>',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Grüße!   Tabs\there, trailing spaces   ',
    '',
    '-- ',
    'Ana',
    '',
    '',
  ].join('\r\n'),
  'utf8',
);

const ALGORITHMS: DkimAlgorithm[] = ['rsa-sha256', 'ed25519-sha256'];
const CANONS: CanonicalizationPair[] = ['simple/simple', 'relaxed/relaxed', 'relaxed/simple', 'simple/relaxed'];
const combos = ALGORITHMS.flatMap((algorithm) => CANONS.map((canonicalization) => ({ algorithm, canonicalization })));

beforeAll(async () => {
  // A missing peer fails the run, never skips it.
  const [probe] = await dkimpy([{ op: 'verify', message: Buffer.from('From: a@b\r\n\r\n').toString('base64'), dns: {} }]).catch((e: Error) => {
    throw new Error(`dkimpy is not usable under ${PYTHON} (apt-get install python3-dkim python3-nacl): ${e.message}`);
  });
  expect(probe).toEqual({ results: [] });
});

describe('dkimpy signs, Kagami verifies', () => {
  let signed: PeerAnswer[];
  beforeAll(async () => {
    signed = await dkimpy(
      combos.map(({ algorithm, canonicalization }) => ({
        op: 'sign' as const,
        message: MESSAGE.toString('base64'),
        domain: DOMAIN,
        ...DKIMPY_KEYS[algorithm],
        algorithm,
        canonicalization,
      })),
    );
  });

  combos.forEach(({ algorithm, canonicalization }, i) => {
    it(`${algorithm} ${canonicalization}`, async () => {
      const answer = signed[i]!;
      expect(answer.error).toBeUndefined();
      const msg = Buffer.concat([Buffer.from(answer.signature!, 'latin1'), MESSAGE]);
      const [r] = await verifyDkim(msg, resolver());
      expect(r, r?.reason).toMatchObject({ result: 'pass', algorithm, canonicalization, domain: DOMAIN });
      const tampered = Buffer.from(msg.toString('latin1').replace('Ana\r\n', 'Eve\r\n'), 'latin1');
      expect((await verifyDkim(tampered, resolver()))[0]).toMatchObject({ result: 'fail', code: 'body-hash-mismatch' });
    });
  });
});

describe('dkimpy signs with l=, Kagami verifies', () => {
  it('passes, reports l=, and still passes with text appended (the l= risk)', async () => {
    const [answer] = await dkimpy([
      { op: 'sign', message: MESSAGE.toString('base64'), domain: DOMAIN, ...DKIMPY_KEYS['rsa-sha256'], algorithm: 'rsa-sha256', canonicalization: 'relaxed/relaxed', length: true },
    ]);
    expect(answer!.signature).toMatch(/ l=\d+/);
    const msg = Buffer.concat([Buffer.from(answer!.signature!, 'latin1'), MESSAGE]);
    expect((await verifyDkim(msg, resolver()))[0]).toMatchObject({ result: 'pass', bodyLengthLimited: true });
    const appended = Buffer.concat([msg, Buffer.from('Appended by someone else\r\n')]);
    expect((await verifyDkim(appended, resolver()))[0]).toMatchObject({ result: 'pass', bodyLengthLimited: true });
  });
});

describe('Kagami signs, dkimpy verifies', () => {
  const messages = combos.map(({ algorithm, canonicalization }) => {
    const k = KAGAMI_KEYS[algorithm];
    const field = signDkim(MESSAGE, { domain: DOMAIN, selector: k.selector, privateKey: k.pem, algorithm, canonicalization, expiresInSeconds: 3600 });
    return Buffer.concat([Buffer.from(field, 'latin1'), MESSAGE]);
  });
  let verified: PeerAnswer[];
  beforeAll(async () => {
    const tampered = messages.map((m) => Buffer.from(m.toString('latin1').replace('Subject:  Interop', 'Subject:  Outerop'), 'latin1'));
    verified = await dkimpy([...messages, ...tampered].map((m) => ({ op: 'verify' as const, message: m.toString('base64'), dns: DNS })));
  });

  combos.forEach(({ algorithm, canonicalization }, i) => {
    it(`${algorithm} ${canonicalization}`, () => {
      expect(verified[i]).toEqual({ results: [true] });
      expect(verified[i + combos.length], 'a changed Subject must not verify').toEqual({ results: [false] });
    });
  });

  it('both signatures on one message, and dkimpy reads the same h= Kagami wrote', async () => {
    const both = [messages[1]!, messages[CANONS.length + 1]!]; // rsa and ed25519, relaxed/relaxed
    const fields = both.map((m) => m.toString('latin1').slice(0, m.length - MESSAGE.length));
    const msg = Buffer.concat([Buffer.from(fields.join(''), 'latin1'), MESSAGE]);
    const [answer] = await dkimpy([{ op: 'verify', message: msg.toString('base64'), dns: DNS }]);
    expect(answer).toEqual({ results: [true, true] });
    expect((await verifyDkim(msg, resolver())).map((r) => r.result)).toEqual(['pass', 'pass']);
  });
});
