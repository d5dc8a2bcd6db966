/**
 * verdict → action (RFC 9989 5.3.6 and section 8: the receiver decides, the Domain Owner only
 * requests). Pure and table-tested (test/protocol/policy). Order of questions:
 * 1. no single From domain → reject (RFC 9989 5.3.1 leaves it to the receiver; such mail cannot
 *    be authenticated at all, and is a known spoofing trick);
 * 2. DMARC temperror → tempfail (or deliver, by configuration), never a pass;
 * 3. pass / none / permerror → deliver;
 * 4. fail: local overrides first (trusted ARC sealer or forwarder, mailing list, per-domain
 *    exception), then the applied policy: none → deliver, quarantine, reject;
 * then enforcement (off, shadow) and the shadow policy beside the real action.
 */
import { isIP } from 'node:net';
import type { LocalPolicy, PolicyAction, PolicyInput, PolicyOverride, Verdict } from './types.js';

/** a.example is under example or a.example itself. */
function withinDomain(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  const d = domain.toLowerCase().replace(/^\./, '').replace(/\.$/, '');
  return n === d || n.endsWith('.' + d);
}

function ipToBigInt(ip: string): { v6: boolean; n: bigint } | null {
  const kind = isIP(ip);
  if (kind === 4) return { v6: false, n: ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (kind !== 6) return null;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return ipToBigInt(mapped[1]!);
  // A dotted quad at the end (64:ff9b::192.0.2.33) is the last two groups.
  const quad = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (quad) {
    const v4 = quad[2]!.split('.').map(Number);
    ip = `${quad[1]}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, tail = ''] = ip.split('::');
  const parts = (s: string) => (s ? s.split(':') : []);
  const h = parts(head!);
  const t = parts(tail);
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return { v6: true, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** An IP, a CIDR (192.0.2.0/24, 2001:db8::/32), or a host name matched against the PTR name. */
export function matchesForwarder(entry: string, clientIp: string, ptr: string | null): boolean {
  const [net, bits] = entry.split('/');
  const netIp = ipToBigInt(net!);
  if (netIp) {
    const client = ipToBigInt(clientIp);
    if (!client || client.v6 !== netIp.v6) return false;
    const width = netIp.v6 ? 128 : 32;
    // "192.0.2.1/" or "/x" is a typo, not /0: it must never trust every address.
    if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return false;
    const prefix = bits === undefined ? width : Number(bits);
    if (prefix > width) return false;
    const shift = BigInt(width - prefix);
    return client.n >> shift === netIp.n >> shift;
  }
  return ptr !== null && withinDomain(ptr, entry);
}

/** The List-Id's identifier: "Discussion <list.example.org>" → "list.example.org". */
function listIdentifier(listId: string): string {
  const m = /<([^>]+)>/.exec(listId);
  return (m ? m[1]! : listId).trim().toLowerCase();
}

function findOverride(input: PolicyInput, policy: LocalPolicy): PolicyOverride | null {
  const { arc } = input;
  if (arc.result === 'pass') {
    const sealer = arc.oldestPassingSealer;
    const trusted = policy.trustedArcSealers.find((d) => withinDomain(sealer, d));
    if (trusted) return { type: 'trusted_forwarder', comment: `ARC chain passes and its sealer ${sealer} is trusted` };
  }
  const forwarder = policy.trustedForwarders.find((f) => matchesForwarder(f, input.clientIp, input.ptr));
  if (forwarder) return { type: 'trusted_forwarder', comment: `${input.clientIp}${input.ptr ? ` (${input.ptr})` : ''} is a trusted forwarder (${forwarder})` };
  if (input.listId) {
    // A List-Id is a header anyone can write: the list must also have authenticated the message
    // (a passing DKIM d= or SPF domain under the configured list domain).
    const id = listIdentifier(input.listId);
    const list = policy.mailingLists.find(
      (l) => (id === l.toLowerCase() || withinDomain(id, l)) && input.authenticatedDomains.some((a) => withinDomain(a, l) || withinDomain(id, a)),
    );
    if (list) return { type: 'mailing_list', comment: `mailing list ${id} is trusted (${list}) and authenticated` };
  }
  const from = input.dmarc.fromDomain;
  if (from) {
    const exception = policy.exceptions.find((d) => withinDomain(from, d));
    if (exception) return { type: 'local_policy', comment: `local exception for ${exception}` };
  }
  return null;
}

/** What the stricter shadow policy would do with a DMARC fail. */
function shadowAction(input: PolicyInput, policy: LocalPolicy): { action: PolicyAction; reason: string } | null {
  const d = input.dmarc;
  if (d.result !== 'fail') return null;
  let requested = policy.shadow.ignoreTesting && d.testing ? (d.policy ?? 'none') : d.appliedPolicy;
  let why = policy.shadow.ignoreTesting && d.testing ? 't=y ignored' : '';
  if (requested === 'none' && policy.shadow.enforceNone) {
    requested = 'quarantine';
    why = why ? `${why}, p=none enforced` : 'p=none enforced';
  }
  if (requested === 'quarantine' && policy.shadow.quarantineAsReject) {
    requested = 'reject';
    why = why ? `${why}, quarantine as reject` : 'quarantine as reject';
  }
  const action: PolicyAction = requested === 'reject' ? 'reject' : requested === 'quarantine' ? 'quarantine' : 'deliver';
  return { action, reason: `shadow policy (${why || 'as published'}): ${action}` };
}

export function decide(input: PolicyInput, policy: LocalPolicy): Verdict {
  const d = input.dmarc;
  const base = { appliedPolicy: d.appliedPolicy, override: null, shadow: null };
  let verdict: Verdict;
  let trusted = false;
  if (d.fromError) {
    verdict = { ...base, action: 'reject', reason: `${d.reason} (RFC 5322 3.6 requires exactly one From mailbox)` };
  } else if (d.result === 'temperror') {
    verdict = { ...base, action: policy.onTemperror === 'deliver' ? 'deliver' : 'tempfail', reason: d.reason };
  } else if (d.result !== 'fail') {
    verdict = { ...base, action: 'deliver', reason: d.reason };
  } else {
    const requested: PolicyAction = d.appliedPolicy === 'reject' ? 'reject' : d.appliedPolicy === 'quarantine' ? 'quarantine' : 'deliver';
    const override = findOverride(input, policy);
    // Recorded (RFC 9990) only when it changed the disposition; it always silences the shadow.
    trusted = override !== null;
    verdict =
      override && requested !== 'deliver'
        ? { ...base, action: 'deliver', override, reason: `${d.reason}; delivered: ${override.comment}` }
        : { ...base, action: requested, reason: d.reason };
  }
  const shadow = trusted ? null : shadowAction(input, policy);
  const enforced: Verdict = { ...verdict, shadow: shadow && shadow.action !== verdict.action ? shadow : null };
  if (policy.enforce === true) return enforced;
  // Not enforcing: record what enforcement would have done (the shadow), deliver anyway. A
  // temperror still waits (DNS trouble is never a pass) and a broken From is still refused.
  if (enforced.action === 'deliver' || enforced.action === 'tempfail' || d.fromError) return enforced;
  return {
    ...enforced,
    action: 'deliver',
    reason: `${enforced.reason}; not enforced (policy.enforce = ${String(policy.enforce)})`,
    shadow: { action: enforced.action, reason: `would have been ${enforced.action}: ${enforced.reason}` },
  };
}
