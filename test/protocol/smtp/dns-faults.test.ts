/**
 * DNS trouble during DMARC is never a pass (RFC 9989 §5.3.6): SERVFAIL and timeout at each
 * lookup step answer 451 4.4.3, nothing is stored, and the attempt is in the verdict log.
 * Steps: the Author Domain's `_dmarc` record; the policy tree walk to its parent (§4.10.1); the
 * Organizational Domain walk relaxed alignment needs, for the From domain and for the MAIL FROM
 * domain (§4.10.2); the existence test that chooses np (§3.2.13, Appendix A.4). Each fault has a
 * healthy twin that shows what the answer would have been. startTestServer asks the DNS with
 * timeout_ms 500 and one attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAuthResults } from '../../../src/auth/authres/parse.js';
import type { ZoneData, ZoneEntry } from '../../../src/dns/zone.js';
import { headerValue, landed, message, policyDetail, send, verdictFor } from '../../support/enforcement.js';
import { startTestServer, type TestServer } from '../../support/server.js';

type Kind = 'servfail' | 'timeout' | 'ok';
const KINDS: Kind[] = ['servfail', 'timeout', 'ok'];
const fault = (kind: Exclude<Kind, 'ok'>): ZoneEntry => (kind === 'servfail' ? { SERVFAIL: true } : { TIMEOUT: true });
const SPF_PASS = { TXT: ['v=spf1 ip4:127.0.0.1 -all'], A: ['192.0.2.60'] };

interface Step {
  step: string;
  /** The From domain and MAIL FROM of the message. */
  from: (k: Kind) => string;
  mailFrom: (k: Kind) => string;
  /** The zone of this step: the faulted name gets `bad`, or its healthy data when bad is null. */
  zone: (k: Kind, bad: ZoneEntry | null) => ZoneData;
  /** The name whose answer is faulted, as the reason names it. */
  faulted: (k: Kind) => RegExp;
  /** What happens when DNS answers. */
  healthy: { code: number; action: string; dmarc: string };
}

const steps: Step[] = [
  {
    step: "the Author Domain's _dmarc record",
    from: (k) => `f1-${k}.example`,
    mailFrom: () => 'bounce@esp.example',
    zone: (k, bad) => ({ [`f1-${k}.example`]: { A: ['192.0.2.1'] }, [`_dmarc.f1-${k}.example`]: bad ?? { TXT: ['v=DMARC1; p=reject'] } }),
    faulted: (k) => new RegExp(`_dmarc\\.f1-${k}\\.example`),
    healthy: { code: 550, action: 'reject', dmarc: 'fail' },
  },
  {
    step: 'the policy tree walk to the parent of a subdomain without its own record',
    from: (k) => `sub.f2-${k}.example`,
    mailFrom: () => 'bounce@esp.example',
    zone: (k, bad) => ({ [`sub.f2-${k}.example`]: { A: ['192.0.2.2'] }, [`_dmarc.f2-${k}.example`]: bad ?? { TXT: ['v=DMARC1; p=reject'] } }),
    faulted: (k) => new RegExp(`_dmarc\\.f2-${k}\\.example`),
    healthy: { code: 550, action: 'reject', dmarc: 'fail' },
  },
  {
    step: "the Organizational Domain walk of the From domain (relaxed SPF alignment)",
    from: (k) => `news.f3-${k}.example`,
    mailFrom: (k) => `bounce@mail.f3-${k}.example`,
    zone: (k, bad) => ({
      [`news.f3-${k}.example`]: { A: ['192.0.2.3'] },
      [`_dmarc.news.f3-${k}.example`]: { TXT: ['v=DMARC1; p=reject'] },
      [`mail.f3-${k}.example`]: SPF_PASS,
      [`_dmarc.f3-${k}.example`]: bad ?? { TXT: ['v=DMARC1; p=reject'] },
    }),
    faulted: (k) => new RegExp(`_dmarc\\.f3-${k}\\.example`),
    healthy: { code: 250, action: 'deliver', dmarc: 'pass' },
  },
  {
    step: 'the Organizational Domain walk of the MAIL FROM domain (relaxed SPF alignment)',
    from: (k) => `f5-${k}.example`,
    mailFrom: (k) => `bounce@mail.f5-${k}.example`,
    zone: (k, bad) => ({
      [`f5-${k}.example`]: { A: ['192.0.2.5'] },
      [`_dmarc.f5-${k}.example`]: { TXT: ['v=DMARC1; p=reject; psd=n'] },
      [`mail.f5-${k}.example`]: SPF_PASS,
      ...(bad ? { [`_dmarc.mail.f5-${k}.example`]: bad } : {}),
    }),
    faulted: (k) => new RegExp(`_dmarc\\.mail\\.f5-${k}\\.example`),
    healthy: { code: 250, action: 'deliver', dmarc: 'pass' },
  },
  {
    step: 'the existence test for np (A, AAAA, MX of the From domain)',
    from: (k) => `ghost.f4-${k}.example`,
    mailFrom: () => 'bounce@esp.example',
    // p=none: a temperror wrongly read as "exists" would deliver; the healthy answer is np=reject.
    zone: (k, bad) => ({
      [`f4-${k}.example`]: { A: ['192.0.2.4'] },
      [`_dmarc.f4-${k}.example`]: { TXT: ['v=DMARC1; p=none; np=reject'] },
      ...(bad ? { [`ghost.f4-${k}.example`]: bad } : {}),
    }),
    faulted: (k) => new RegExp(`whether ghost\\.f4-${k}\\.example exists`),
    healthy: { code: 550, action: 'reject', dmarc: 'fail' },
  },
];

const zone: ZoneData = { 'esp.example': SPF_PASS };
for (const s of steps) for (const k of KINDS) Object.assign(zone, s.zone(k, k === 'ok' ? null : fault(k)));

let t: TestServer;
let lenient: TestServer;
beforeAll(async () => {
  [t, lenient] = await Promise.all([
    startTestServer({ hostname: 'mx.example.test' }, zone),
    startTestServer({ hostname: 'mx.example.test', policy: { on_temperror: 'deliver' } }, zone),
  ]);
});
afterAll(async () => {
  await t?.stop();
  await lenient?.stop();
});

const rows = steps.flatMap((s, i) => KINDS.map((k) => [s.step, k, s, i] as const));

describe('DNS faults at each DMARC lookup step', () => {
  it.each(rows)('%s: %s', async (_step, kind, s, i) => {
    const rcpt = `step${i}-${kind}@example.test`;
    const from = s.from(kind);
    const reply = await send(t, { mailFrom: s.mailFrom(kind), rcpt }, message([`From: Someone <someone@${from}>`, `Subject: step ${i} ${kind}`]));
    const v = await verdictFor(t, rcpt);
    expect(v, 'verdict row').toBeDefined();
    if (kind === 'ok') {
      expect(reply.code).toBe(s.healthy.code);
      expect(v).toMatchObject({ fromDomain: from, action: s.healthy.action, dmarcResult: s.healthy.dmarc });
      return;
    }
    expect(reply.code).toBe(451);
    expect(reply.text).toBe(`4.4.3 DNS temporary failure during the DMARC check, try again later (${from})`);
    expect((await landed(t, rcpt, false)).folder).toBe('nowhere');
    expect(v).toMatchObject({ queueId: null, fromDomain: from, action: 'tempfail', dmarcResult: 'temperror' });
    const policy = policyDetail(v!);
    expect(policy).toMatchObject({ action: 'tempfail', override: null, shadow: null });
    expect(policy.reason).toMatch(s.faulted(kind));
    expect(policy.reason).toMatch(/RFC 9989 §5\.3\.6/);
  });
});

describe("on_temperror = 'deliver'", () => {
  it.each(['servfail', 'timeout'] as const)('%s: delivered, but as dmarc=temperror, never pass', async (kind) => {
    const rcpt = `lenient-${kind}@example.test`;
    const from = steps[0]!.from(kind);
    const reply = await send(lenient, { mailFrom: 'bounce@esp.example', rcpt }, message([`From: someone@${from}`, 'Subject: lenient']));
    expect(reply.code).toBe(250);
    const where = await landed(lenient, rcpt, true);
    expect(where.folder).toBe('INBOX');
    const ar = parseAuthResults(`Authentication-Results: ${headerValue(where.text!, 'Authentication-Results')}\r\n`);
    if (!ar.ok) throw new Error(ar.reason);
    expect(ar.authResults.results.find((r) => r.method === 'dmarc')?.result).toBe('temperror');
    expect(await verdictFor(lenient, rcpt)).toMatchObject({ action: 'deliver', dmarcResult: 'temperror' });
  });
});
