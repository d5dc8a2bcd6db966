/**
 * Who gets a message sent to an address: the RCPT TO decision of the MX, pure.
 * Our domains only (no open relay); postmaster@ and abuse@ always (RFC 5321 4.5.1, RFC 2142);
 * aliases to local users or outside addresses; unknown users per configuration.
 */
import type { ErrorCode } from '../core/errors.js';
import type { NewRecipient } from '../store/types.js';

export interface RecipientPolicy {
  /** Our domains, lowercased. */
  domains: ReadonlySet<string>;
  /** Lowercased address → targets ("user", "user@our.domain" or an outside address). */
  aliases: Readonly<Record<string, readonly string[]>>;
  /** Known users: "user" (any of our domains) or "user@domain", lowercased. */
  localUsers: ReadonlySet<string>;
  unknownLocalUser: 'accept' | 'reject';
  /** Local recipients go to Maildir or to the LMTP server. */
  localRoute: 'maildir' | 'lmtp';
  /** Whether a Maildir already exists for "<domain>/<user>" (an existing mailbox is a known user). */
  mailboxExists(mailbox: string): boolean;
  /** Local parts whose mail is read as reports (route "reports"), and whether it is also delivered. */
  reportAddresses?: ReadonlySet<string>;
  deliverReports?: boolean;
}

export type RecipientDecision =
  | { result: 'accept'; targets: NewRecipient[] }
  | { result: 'reject'; code: ErrorCode; reason: string };

const ALWAYS_ACCEPTED = new Set(['postmaster', 'abuse']);
const MAX_ALIAS_DEPTH = 8;

/** Splits an address at its last "@"; the domain is lowercased, without a trailing dot. */
export function splitAddress(address: string): { local: string; domain: string } | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase().replace(/\.$/, '') };
}

/**
 * The mailbox user of a local part: lowercased, "+detail" removed. Null when the local part
 * cannot name a directory safely ("/", NUL, "..", a leading ".").
 */
export function mailboxUser(local: string): string | null {
  const user = local.toLowerCase().split('+')[0]!;
  if (user === '' || user.startsWith('.') || user.includes('/') || user.includes('\0') || user.includes('..')) {
    return null;
  }
  if (local.includes('/') || local.includes('\0') || local.startsWith('.') || local.includes('..')) return null;
  return user;
}

export function resolveRecipient(address: string, policy: RecipientPolicy): RecipientDecision {
  // RFC 5321 4.5.1: "postmaster" without a domain must be accepted.
  const firstDomain = [...policy.domains][0];
  const parts =
    splitAddress(address) ??
    (address.toLowerCase() === 'postmaster' && firstDomain ? { local: 'postmaster', domain: firstDomain } : null);
  if (!parts) return { result: 'reject', code: 'KGM-RELAY-DENIED', reason: `not an address of ours: ${address}` };
  if (!policy.domains.has(parts.domain)) {
    return { result: 'reject', code: 'KGM-RELAY-DENIED', reason: `${parts.domain} is not one of our domains` };
  }
  const targets: NewRecipient[] = [];
  const seen = new Set<string>();
  const outcome = expand(address, parts.local, parts.domain, policy, targets, seen, 0);
  if (outcome) return outcome;
  if (targets.length === 0) {
    return { result: 'reject', code: 'KGM-RCPT-ALIAS-LOOP', reason: `${address} expands to no mailbox` };
  }
  return { result: 'accept', targets: dedupe(targets) };
}

function expand(
  original: string,
  local: string,
  domain: string,
  policy: RecipientPolicy,
  targets: NewRecipient[],
  seen: Set<string>,
  depth: number,
): RecipientDecision | null {
  const user = mailboxUser(local);
  if (user === null) {
    return { result: 'reject', code: 'KGM-RCPT-BAD-LOCALPART', reason: `local part ${JSON.stringify(local)} cannot name a mailbox` };
  }
  const key = `${user}@${domain}`;
  if (seen.has(key)) return null;
  seen.add(key);
  const alias = policy.aliases[`${local.toLowerCase()}@${domain}`] ?? policy.aliases[key];
  if (alias && depth < MAX_ALIAS_DEPTH) {
    for (const target of alias) {
      const t = target.includes('@') ? splitAddress(target) : { local: target, domain };
      if (!t) continue;
      if (!policy.domains.has(t.domain)) {
        targets.push({ address: original, route: 'remote', mailbox: `${t.local}@${t.domain}` });
        continue;
      }
      const nested = expand(original, t.local, t.domain, policy, targets, seen, depth + 1);
      if (nested) return nested;
    }
    return null;
  }
  if (policy.reportAddresses?.has(user)) {
    targets.push({ address: original, route: 'reports', mailbox: key });
    if (!policy.deliverReports) return null;
  }
  const mailbox = `${domain}/${user}`;
  const known =
    ALWAYS_ACCEPTED.has(user) ||
    policy.localUsers.has(user) ||
    policy.localUsers.has(key) ||
    policy.mailboxExists(mailbox);
  if (!known && policy.unknownLocalUser === 'reject') {
    return { result: 'reject', code: 'KGM-RCPT-UNKNOWN', reason: `${key} is not a local user` };
  }
  targets.push(
    policy.localRoute === 'lmtp'
      ? { address: original, route: 'lmtp', mailbox: key }
      : { address: original, route: 'maildir', mailbox },
  );
  return null;
}

function dedupe(list: NewRecipient[]): NewRecipient[] {
  const seen = new Set<string>();
  return list.filter((r) => {
    const k = `${r.route}:${r.mailbox}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
