/**
 * Domain names in SPF: the target name a domain-spec expands to (RFC 7208 7.3), whether a name
 * can exist in the DNS at all, and whether <domain> is usable (RFC 7208 4.3).
 */

/** RFC 1035 2.3.4 / RFC 7208 7.3: a domain name in text is at most 253 characters. */
export const MAX_DOMAIN_CHARS = 253;

/**
 * Turns an expanded domain-spec into the name to query: drops a trailing dot and, past 253
 * characters, removes labels from the left until it fits (RFC 7208 7.3).
 */
export function toTargetName(expanded: string): string {
  let name = expanded.endsWith('.') ? expanded.slice(0, -1) : expanded;
  while (name.length > MAX_DOMAIN_CHARS) {
    const dot = name.indexOf('.');
    if (dot < 0) break;
    name = name.slice(dot + 1);
  }
  return name;
}

/**
 * Whether a name can exist in the DNS: no empty label, labels of at most 63 octets, at most 253
 * characters (RFC 1035 2.3.4). A target that fails is treated as non-existent (RFC 7208 4.3, 4.8).
 */
export function queryableName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_DOMAIN_CHARS) return false;
  let label = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0x7f) return name.split('.').every((l) => l.length > 0 && Buffer.byteLength(l) <= 63);
    if (c === 46) {
      if (label === 0) return false;
      label = 0;
    } else if (++label > 63) {
      return false;
    }
  }
  return label > 0;
}

/** RFC 7208 4.3: why <domain> is not a usable domain name, or undefined if it is. One pass. */
export function domainProblem(domain: string): string | undefined {
  const n = domain.length;
  if (n === 0) return 'it is empty';
  if (domain.charCodeAt(0) === 91) return 'it is an address literal, not a domain';
  let label = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = domain.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return 'it contains a space or control character';
    if (c === 46) {
      if (label === 0) return 'it has an empty label';
      label = 0;
      dots++;
    } else if (++label > 63 && c < 0x80) {
      return 'it has a label over 63 octets';
    }
  }
  if (n > MAX_DOMAIN_CHARS || !queryableName(domain)) return 'it has an empty label, a label over 63 octets, or is over 253 characters';
  if (dots === 0) return 'it is not a multi-label domain name';
  return undefined;
}
