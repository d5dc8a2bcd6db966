/**
 * decide(input, localPolicy) → Verdict, on hand-built DMARC and ARC results (STYLE 1, 11a):
 * p=none/quarantine/reject × pass/fail, t=y (already applied by evaluation), temperror,
 * permerror/none, a broken From, the local overrides with their RFC 9990 PolicyOverrideType,
 * the shadow policy and enforcement off / shadow. matchesForwarder's address and name rules.
 */
import { describe, expect, it } from 'vitest';
import type { ArcResult } from '../../../src/auth/arc/types.js';
import { blankEvaluationFacts } from '../../../src/auth/dmarc/evaluate.js';
import type { DmarcEvaluation, DmarcPolicy, FromDomainError } from '../../../src/auth/dmarc/types.js';
import { decide, matchesForwarder } from '../../../src/policy/decide.js';
import type { LocalPolicy, PolicyInput } from '../../../src/policy/types.js';

/** No overrides, no shadow, enforcing: every test turns on only what it is about. */
const STRICT: LocalPolicy = {
  enforce: true,
  onTemperror: 'tempfail',
  trustedArcSealers: [],
  trustedForwarders: [],
  mailingLists: [],
  exceptions: [],
  shadow: { quarantineAsReject: false, ignoreTesting: false, enforceNone: false },
};

const ALL_SHADOW = { quarantineAsReject: true, ignoreTesting: true, enforceNone: true };

function policy(overrides: Partial<Omit<LocalPolicy, 'shadow'>> & { shadow?: Partial<LocalPolicy['shadow']> } = {}): LocalPolicy {
  return { ...STRICT, ...overrides, shadow: { ...STRICT.shadow, ...overrides.shadow } };
}

/** What evaluateDmarc would hand over: `t=y` already lowers appliedPolicy (RFC 9989 §4.7). */
function fail(p: DmarcPolicy, opts: { testing?: boolean; from?: string } = {}): DmarcEvaluation {
  const applied: DmarcPolicy = opts.testing ? (p === 'reject' ? 'quarantine' : 'none') : p;
  const from = opts.from ?? 'bank.example';
  return {
    ...blankEvaluationFacts(from, null),
    policyDomain: from,
    organizationalDomain: from,
    policyTag: 'p',
    policy: p,
    testing: opts.testing ?? false,
    mode: { spf: 'relaxed', dkim: 'relaxed' },
    result: 'fail',
    appliedPolicy: applied,
    reason: `neither SPF (evil.test) nor DKIM (no signature) aligned with ${from}; p=${p} from _dmarc.${from}`,
  };
}

function pass(p: DmarcPolicy): DmarcEvaluation {
  return {
    ...blankEvaluationFacts('bank.example', null),
    policyDomain: 'bank.example',
    policyTag: 'p',
    policy: p,
    alignment: { spf: true, dkim: false },
    result: 'pass',
    appliedPolicy: 'none',
    reason: 'SPF (bank.example) aligned with bank.example',
  };
}

function noAnswer(result: 'none' | 'temperror' | 'permerror', fromError: FromDomainError | null = null): DmarcEvaluation {
  return { ...blankEvaluationFacts(fromError ? null : 'bank.example', fromError), result, appliedPolicy: null, reason: `dmarc ${result}` };
}

const ARC_NONE: ArcResult = { result: 'none', reason: 'no ARC header fields' };

function arcPass(sealer: string): Extract<ArcResult, { result: 'pass' }> {
  return {
    result: 'pass',
    instances: 1,
    oldestPass: 0,
    oldestPassingSealer: sealer,
    sealers: [{ instance: 1, domain: sealer, selector: 'arc', cv: 'none', amsResult: 'pass', asResult: 'pass', authResults: 'mx; dmarc=pass' }],
    reason: 'chain of 1 passes',
  };
}

function input(dmarc: DmarcEvaluation, extra: Partial<Omit<PolicyInput, 'dmarc'>> = {}): PolicyInput {
  return { dmarc, arc: ARC_NONE, clientIp: '203.0.113.9', ptr: null, listId: null, authenticatedDomains: [], ...extra };
}

describe('decide: the published policy × the DMARC result', () => {
  it.each([
    ['none', 'pass', 'deliver', 'none'],
    ['quarantine', 'pass', 'deliver', 'none'],
    ['reject', 'pass', 'deliver', 'none'],
    ['none', 'fail', 'deliver', 'none'],
    ['quarantine', 'fail', 'quarantine', 'quarantine'],
    ['reject', 'fail', 'reject', 'reject'],
  ] as const)('p=%s, dmarc=%s → %s', (p, result, action, applied) => {
    const v = decide(input(result === 'pass' ? pass(p) : fail(p)), STRICT);
    expect(v).toMatchObject({ action, appliedPolicy: applied, override: null, shadow: null });
    expect(v.reason).toBe(result === 'pass' ? pass(p).reason : fail(p).reason);
  });

  it.each([
    // t=y lowers the policy one level (§4.7); evaluation has done it, decide must not do it again.
    ['reject', 'quarantine'],
    ['quarantine', 'deliver'],
    ['none', 'deliver'],
  ] as const)('t=y, p=%s: acts on the lowered appliedPolicy → %s', (p, action) => {
    const v = decide(input(fail(p, { testing: true })), STRICT);
    expect(v.action).toBe(action);
    expect(v.appliedPolicy).toBe(fail(p, { testing: true }).appliedPolicy);
    expect(v.shadow).toBeNull();
  });

  it('temperror → tempfail (451), never a pass; the reason is kept', () => {
    const v = decide(input(noAnswer('temperror')), policy({ shadow: ALL_SHADOW }));
    expect(v).toMatchObject({ action: 'tempfail', reason: 'dmarc temperror', appliedPolicy: null, override: null, shadow: null });
  });

  it("temperror with onTemperror: 'deliver' → deliver", () => {
    expect(decide(input(noAnswer('temperror')), policy({ onTemperror: 'deliver' }))).toMatchObject({ action: 'deliver', shadow: null });
  });

  it.each(['permerror', 'none'] as const)('%s → deliver, no policy applied, no shadow', (result) => {
    const v = decide(input(noAnswer(result)), policy({ shadow: ALL_SHADOW }));
    expect(v).toMatchObject({ action: 'deliver', appliedPolicy: null, override: null, shadow: null });
  });

  it.each(['no From', 'multiple From', 'multiple addresses', 'unparseable'] as const)('From error "%s" → reject, citing RFC 5322 3.6', (error) => {
    const v = decide(input(noAnswer('permerror', error)), STRICT);
    expect(v.action).toBe('reject');
    expect(v.reason).toMatch(/RFC 5322 3\.6/);
    expect(v.override).toBeNull();
  });

  it('a broken From is refused even from a trusted forwarder, and before a temperror', () => {
    const everything = policy({ trustedForwarders: ['203.0.113.0/24'], trustedArcSealers: ['lists.example'], mailingLists: ['lists.example'] });
    const broken = input(noAnswer('permerror', 'multiple From'), { arc: arcPass('lists.example'), listId: '<dev.lists.example>' });
    expect(decide(broken, everything)).toMatchObject({ action: 'reject', override: null });
    const both = { ...noAnswer('temperror'), fromError: 'no From' as const };
    expect(decide(input(both), STRICT).action).toBe('reject');
  });
});

describe('decide: local overrides (RFC 9990 PolicyOverrideType)', () => {
  const rejectFail = fail('reject');

  it.each([
    ['ARC sealer equal to a trusted domain', { arc: arcPass('lists.example') }, { trustedArcSealers: ['lists.example'] }, 'trusted_forwarder', /lists\.example/],
    ['ARC sealer a subdomain of a trusted domain', { arc: arcPass('eu.lists.example') }, { trustedArcSealers: ['lists.example'] }, 'trusted_forwarder', /eu\.lists\.example/],
    ['ARC sealer, case-insensitive', { arc: arcPass('Lists.Example') }, { trustedArcSealers: ['lists.EXAMPLE'] }, 'trusted_forwarder', /sealer/],
    ['forwarder by IP', { clientIp: '192.0.2.25' }, { trustedForwarders: ['192.0.2.25'] }, 'trusted_forwarder', /192\.0\.2\.25/],
    ['forwarder by IPv4 CIDR', { clientIp: '192.0.2.200' }, { trustedForwarders: ['192.0.2.0/24'] }, 'trusted_forwarder', /192\.0\.2\.0\/24/],
    ['forwarder by IPv6 CIDR', { clientIp: '2001:db8:7::25' }, { trustedForwarders: ['2001:db8::/32'] }, 'trusted_forwarder', /2001:db8::\/32/],
    ['forwarder by PTR suffix', { ptr: 'mx3.fwd.example' }, { trustedForwarders: ['fwd.example'] }, 'trusted_forwarder', /mx3\.fwd\.example/],
    ['mailing list by List-Id value, DKIM-signed by the list', { listId: 'Developers <dev.lists.example>', authenticatedDomains: ['lists.example'] }, { mailingLists: ['dev.lists.example'] }, 'mailing_list', /dev\.lists\.example/],
    ['mailing list by List-Id domain, SPF of the list', { listId: 'Developers <dev.lists.example>', authenticatedDomains: ['bounces.lists.example'] }, { mailingLists: ['lists.example'] }, 'mailing_list', /lists\.example/],
    ['mailing list, List-Id without angle brackets', { listId: 'dev.lists.example', authenticatedDomains: ['dev.lists.example'] }, { mailingLists: ['dev.lists.example'] }, 'mailing_list', /dev\.lists\.example/],
    ['per-domain exception', {}, { exceptions: ['bank.example'] }, 'local_policy', /bank\.example/],
  ] as const)('%s → deliver, override %s', (_name, extra, local, type, comment) => {
    const v = decide(input(rejectFail, extra), policy(local));
    expect(v.action).toBe('deliver');
    expect(v.override?.type).toBe(type);
    expect(v.override?.comment).toMatch(comment);
    expect(v.reason).toContain(rejectFail.reason);
    expect(v.reason).toContain('delivered');
    expect(v.appliedPolicy).toBe('reject');
  });

  it('a per-domain exception covers subdomains of the From domain', () => {
    expect(decide(input(fail('reject', { from: 'alerts.bank.example' })), policy({ exceptions: ['bank.example'] })).override?.type).toBe('local_policy');
  });

  it.each([
    ['ARC fails, though its sets name a trusted sealer', { arc: { result: 'fail', reason: 'AMS i=1 body hash', failedInstance: 1, sealers: arcPass('lists.example').sealers } as ArcResult }],
    ['ARC temperror', { arc: { result: 'temperror', reason: 'key lookup failed' } as ArcResult }],
    ['ARC none', { arc: ARC_NONE }],
    ['ARC passes, sealer a look-alike (suffix without a dot)', { arc: arcPass('evil-lists.example') }],
    ['ARC passes, sealer ends with the trusted name as a label', { arc: arcPass('lists.example.evil.test') }],
    ['ARC passes, sealer a parent of the trusted domain', { arc: arcPass('example') }],
  ] as const)('no override: %s → reject', (_name, extra) => {
    const v = decide(input(rejectFail, extra), policy({ trustedArcSealers: ['lists.example'] }));
    expect(v).toMatchObject({ action: 'reject', override: null });
  });

  it.each([
    ['IP outside the CIDR', { clientIp: '192.0.3.1' }, { trustedForwarders: ['192.0.2.0/24'] }],
    ['PTR look-alike', { ptr: 'mx.evilfwd.example' }, { trustedForwarders: ['fwd.example'] }],
    ['no PTR', { ptr: null }, { trustedForwarders: ['fwd.example'] }],
    ['List-Id of another list', { listId: '<dev.otherlists.example>' }, { mailingLists: ['lists.example'] }],
    ['no List-Id', { listId: null }, { mailingLists: ['lists.example'] }],
    ['exception for another domain', {}, { exceptions: ['notbank.example', 'alerts.bank.example'] }],
  ] as const)('no override: %s → reject', (_name, extra, local) => {
    expect(decide(input(rejectFail, extra), policy(local))).toMatchObject({ action: 'reject', override: null });
  });

  it('p=quarantine is overridden the same way', () => {
    const v = decide(input(fail('quarantine'), { clientIp: '192.0.2.1' }), policy({ trustedForwarders: ['192.0.2.1'] }));
    expect(v).toMatchObject({ action: 'deliver', override: { type: 'trusted_forwarder' } });
  });

  it('an override is recorded only when it changes the action (p=none fail, DMARC pass)', () => {
    const local = policy({ trustedForwarders: ['192.0.2.1'] });
    expect(decide(input(fail('none'), { clientIp: '192.0.2.1' }), local).override).toBeNull();
    expect(decide(input(pass('reject'), { clientIp: '192.0.2.1' }), local).override).toBeNull();
  });

  it('order: trusted ARC sealer, then forwarder, then mailing list, then exception', () => {
    const all = policy({ trustedArcSealers: ['lists.example'], trustedForwarders: ['203.0.113.9'], mailingLists: ['lists.example'], exceptions: ['bank.example'] });
    const facts = { arc: arcPass('lists.example'), listId: '<dev.lists.example>', authenticatedDomains: ['lists.example'] };
    expect(decide(input(rejectFail, facts), all).override?.comment).toMatch(/ARC/);
    expect(decide(input(rejectFail, { ...facts, arc: ARC_NONE }), all).override?.comment).toMatch(/forwarder/);
    expect(decide(input(rejectFail, { ...facts, arc: ARC_NONE, clientIp: '198.51.100.1' }), all).override?.type).toBe('mailing_list');
    expect(decide(input(rejectFail, { arc: ARC_NONE, clientIp: '198.51.100.1' }), all).override?.type).toBe('local_policy');
  });

  it('a List-Id alone, not authenticated by the list, is no override (anyone can write the header)', () => {
    const v = decide(input(rejectFail, { listId: '<dev.lists.example>', authenticatedDomains: ['evil.test'] }), policy({ mailingLists: ['lists.example'] }));
    expect(v).toMatchObject({ action: 'reject', override: null });
  });

  it('an override leaves no shadow: a stricter policy keeps its overrides', () => {
    const v = decide(input(fail('quarantine'), { clientIp: '192.0.2.1' }), policy({ trustedForwarders: ['192.0.2.1'], shadow: ALL_SHADOW }));
    expect(v).toMatchObject({ action: 'deliver', shadow: null });
  });

  // Overrides are looked for on every DMARC fail, so with p=none, or a policy lowered to none by
  // t=y, the shadow does not report "reject" for mail the stricter policy would also deliver.
  it.each([
    ['p=none', fail('none')],
    ['p=quarantine; t=y', fail('quarantine', { testing: true })],
  ] as const)('the shadow policy honours overrides when the applied policy is none (%s)', (_name, dmarc) => {
    const v = decide(input(dmarc, { clientIp: '192.0.2.1' }), policy({ trustedForwarders: ['192.0.2.1'], shadow: ALL_SHADOW }));
    expect(v.action).toBe('deliver');
    expect(v.shadow).toBeNull();
  });
});

describe('decide: shadow policy (recorded beside the real action, only when it differs)', () => {
  it.each([
    ['quarantine as reject', fail('quarantine'), { quarantineAsReject: true }, 'quarantine', 'reject', /quarantine as reject/],
    ['quarantine as reject, off', fail('quarantine'), {}, 'quarantine', null, null],
    ['t=y ignored: p=reject t=y', fail('reject', { testing: true }), { ignoreTesting: true }, 'quarantine', 'reject', /t=y ignored/],
    ['t=y ignored: p=quarantine t=y', fail('quarantine', { testing: true }), { ignoreTesting: true }, 'deliver', 'quarantine', /t=y ignored/],
    ['t=y not ignored: the shadow sees the lowered policy', fail('reject', { testing: true }), { enforceNone: true }, 'quarantine', null, null],
    ['t=y ignored and quarantine as reject', fail('quarantine', { testing: true }), { ignoreTesting: true, quarantineAsReject: true }, 'deliver', 'reject', /t=y ignored, quarantine as reject/],
    ['p=none enforced', fail('none'), { enforceNone: true }, 'deliver', 'quarantine', /p=none enforced/],
    ['p=none enforced, then quarantine as reject', fail('none'), { enforceNone: true, quarantineAsReject: true }, 'deliver', 'reject', /p=none enforced, quarantine as reject/],
    ['p=reject: nothing stricter', fail('reject'), ALL_SHADOW, 'reject', null, null],
    ['p=none, shadow off', fail('none'), {}, 'deliver', null, null],
  ] as const)('%s', (_name, dmarc, shadow, action, shadowAction, why) => {
    const v = decide(input(dmarc), policy({ shadow }));
    expect(v.action).toBe(action);
    if (shadowAction === null) {
      expect(v.shadow).toBeNull();
    } else {
      expect(v.shadow?.action).toBe(shadowAction);
      expect(v.shadow?.reason).toMatch(why!);
    }
  });

  it.each([
    ['pass', pass('none')],
    ['temperror', noAnswer('temperror')],
    ['none', noAnswer('none')],
    ['permerror', noAnswer('permerror')],
  ] as const)('no shadow for dmarc=%s', (_name, dmarc) => {
    expect(decide(input(dmarc), policy({ shadow: ALL_SHADOW })).shadow).toBeNull();
  });
});

describe('decide: enforcement off or shadow', () => {
  it.each([false, 'shadow'] as const)('enforce=%s: a reject is delivered, the would-be reject is in shadow', (enforce) => {
    const v = decide(input(fail('reject')), policy({ enforce }));
    expect(v.action).toBe('deliver');
    expect(v.appliedPolicy).toBe('reject');
    expect(v.shadow?.action).toBe('reject');
    expect(v.shadow?.reason).toMatch(/would have been reject/);
    expect(v.reason).toContain(`not enforced (policy.enforce = ${String(enforce)})`);
  });

  it.each([false, 'shadow'] as const)('enforce=%s: a quarantine is delivered, the would-be quarantine is in shadow', (enforce) => {
    const v = decide(input(fail('quarantine')), policy({ enforce, shadow: ALL_SHADOW }));
    expect(v).toMatchObject({ action: 'deliver', shadow: { action: 'quarantine' } });
  });

  it.each([false, 'shadow'] as const)('enforce=%s: a broken From is still refused', (enforce) => {
    expect(decide(input(noAnswer('permerror', 'multiple addresses')), policy({ enforce })).action).toBe('reject');
  });

  it.each([false, 'shadow'] as const)('enforce=%s: a temperror still waits (451)', (enforce) => {
    expect(decide(input(noAnswer('temperror')), policy({ enforce })).action).toBe('tempfail');
  });

  it.each([false, 'shadow'] as const)('enforce=%s: p=none keeps the shadow policy\'s opinion', (enforce) => {
    const v = decide(input(fail('none')), policy({ enforce, shadow: ALL_SHADOW }));
    expect(v).toMatchObject({ action: 'deliver', shadow: { action: 'reject' } });
    expect(v.reason).not.toMatch(/not enforced/);
  });

  it.each([false, 'shadow'] as const)('enforce=%s: an override still delivers with its type and no shadow', (enforce) => {
    const v = decide(input(fail('reject'), { clientIp: '192.0.2.1' }), policy({ enforce, trustedForwarders: ['192.0.2.1'] }));
    expect(v).toMatchObject({ action: 'deliver', override: { type: 'trusted_forwarder' }, shadow: null });
  });

  it('enforce=false: a pass is just delivered', () => {
    expect(decide(input(pass('reject')), policy({ enforce: false, shadow: ALL_SHADOW }))).toMatchObject({ action: 'deliver', shadow: null, override: null });
  });
});

describe('matchesForwarder', () => {
  it.each([
    // IPv4
    ['192.0.2.1', '192.0.2.1', null, true],
    ['192.0.2.1', '192.0.2.2', null, false],
    ['192.0.2.1/32', '192.0.2.1', null, true],
    ['192.0.2.0/24', '192.0.2.0', null, true],
    ['192.0.2.0/24', '192.0.2.255', null, true],
    ['192.0.2.0/24', '192.0.3.0', null, false],
    ['192.0.2.0/24', '192.0.1.255', null, false],
    ['192.0.2.77/24', '192.0.2.1', null, true], // host bits in the entry are ignored
    ['10.0.0.0/8', '10.255.255.255', null, true],
    ['0.0.0.0/0', '198.51.100.7', null, true],
    ['0.0.0.0/0', '2001:db8::1', null, false],
    ['192.0.2.0/33', '192.0.2.1', null, false],
    ['192.0.2.0/-1', '192.0.2.1', null, false],
    ['192.0.2.0/x', '192.0.2.1', null, false],
    ['192.0.2.0/24.5', '192.0.2.1', null, false],
    // IPv4-mapped IPv6 clients (a dual-stack socket reports ::ffff:a.b.c.d)
    ['192.0.2.0/24', '::ffff:192.0.2.7', null, true],
    ['192.0.2.7', '::FFFF:192.0.2.7', null, true],
    ['::ffff:192.0.2.7', '192.0.2.7', null, true],
    ['192.0.2.0/24', '::ffff:192.0.3.7', null, false],
    // IPv6
    ['2001:db8::1', '2001:db8::1', null, true],
    ['2001:db8::1', '2001:DB8:0:0:0:0:0:1', null, true],
    ['2001:db8::1', '2001:db8::2', null, false],
    ['2001:db8::/32', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', null, true],
    ['2001:db8::/32', '2001:db9::', null, false],
    ['2001:db8::/128', '2001:db8::', null, true],
    ['2001:db8:0:1::/64', '2001:db8:0:1:abcd::1', null, true],
    ['2001:db8:0:1::/64', '2001:db8:0:2::1', null, false],
    ['::/0', '2001:db8::1', null, true],
    ['::/0', '192.0.2.1', null, false],
    ['::1', '::1', null, true],
    ['::1', '127.0.0.1', null, false],
    ['2001:db8::/129', '2001:db8::1', null, false],
    ['192.0.2.1', '2001:db8::1', null, false],
    // Host names, against the PTR name
    ['fwd.example', '192.0.2.1', 'fwd.example', true],
    ['fwd.example', '192.0.2.1', 'mx1.fwd.example', true],
    ['fwd.example', '192.0.2.1', 'a.b.fwd.example', true],
    ['fwd.example', '192.0.2.1', 'MX1.FWD.Example', true],
    ['fwd.example', '192.0.2.1', 'mx1.fwd.example.', true],
    ['fwd.example.', '192.0.2.1', 'mx1.fwd.example', true],
    ['.fwd.example', '192.0.2.1', 'mx1.fwd.example', true],
    ['fwd.example', '192.0.2.1', 'evilfwd.example', false],
    ['fwd.example', '192.0.2.1', 'fwd.example.evil.test', false],
    ['fwd.example', '192.0.2.1', 'example', false],
    ['fwd.example', '192.0.2.1', null, false],
    ['mx1.fwd.example', '192.0.2.1', 'fwd.example', false],
  ] as const)('%s vs %s (PTR %s) → %s', (entry, ip, ptr, expected) => {
    expect(matchesForwarder(entry, ip, ptr)).toBe(expected);
  });

  // "192.0.2.1/" (a typo, or a prefix lost in templating) parses its prefix as Number('') = 0,
  // i.e. /0: every IPv4 client becomes a trusted forwarder and DMARC is off for all of them.
  it.each([
    ['192.0.2.1/', '198.51.100.66'],
    ['2001:db8::1/', '2001:4860::66'],
    ['192.0.2.1/ ', '198.51.100.66'],
  ])('an entry with an empty prefix length (%s) does not trust everyone (%s)', (entry, ip) => {
    expect(matchesForwarder(entry, ip, null)).toBe(false);
  });

  // An IPv6 entry written with an embedded IPv4 (RFC 4291 2.2 form 3, e.g. an RFC 6052 NAT64
  // prefix) must mean the same address as its hex form.
  it('an IPv6 entry with an embedded dotted quad matches the same address in hex', () => {
    expect(matchesForwarder('64:ff9b::192.0.2.33', '64:ff9b::c000:221', null)).toBe(true);
  });
});
