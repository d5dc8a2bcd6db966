/**
 * Trace header fields (RFC 5321 4.4, RFC 5322 3.6.7): Return-Path at delivery, Received at
 * acceptance. Values that came from the client or from DNS are checked before they are written,
 * so a PTR record or HELO cannot inject header lines.
 */

const HOST = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$/;
const ADDRESS_LITERAL = /^\[[0-9A-Fa-f:.IPv]+\]$/;

/** RFC 5322 3.3 date-time in UTC: "Fri, 04 Dec 2026 16:00:00 +0000". */
export function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/** A host name or address literal fit for a header, or null. */
export function headerSafeHost(value: string | null | undefined): string | null {
  if (!value || value.length > 255) return null;
  return HOST.test(value) || ADDRESS_LITERAL.test(value) ? value : null;
}

export interface ReceivedOptions {
  helo: string;
  /** Verified or not, the PTR name of the client, if any. */
  ptr: string | null;
  clientIp: string;
  hostname: string;
  /** RFC 3848 / RFC 6531 protocol: SMTP, ESMTP, ESMTPS, UTF8SMTPS, … */
  protocol: string;
  /** TLS version and cipher, when the session was encrypted. */
  tls: { version: string; cipher: string } | null;
  queueId: string;
  /** Named only when the message has a single recipient (RFC 5321 7.2: no recipient lists in trace fields). */
  recipient: string | null;
  at: number;
}

/** The Received field, folded, ending in CRLF. */
export function formatReceived(o: ReceivedOptions): string {
  const helo = headerSafeHost(o.helo) ?? 'unknown';
  const ptr = headerSafeHost(o.ptr);
  const ip = o.clientIp.includes(':') ? `IPv6:${o.clientIp}` : o.clientIp;
  const from = `from ${helo} (${ptr ? ptr + ' ' : ''}[${ip}])`;
  const tls = o.tls ? ` (using ${o.tls.version} with cipher ${o.tls.cipher})` : '';
  const safeRecipient = o.recipient && /^[^\s<>\r\n]+$/.test(o.recipient) ? o.recipient : null;
  const lines = [
    `Received: ${from}`,
    `\tby ${o.hostname} (Kagami) with ${o.protocol} id ${o.queueId}${tls}`,
    `\t${safeRecipient ? `for <${safeRecipient}>` : ''}; ${rfc5322Date(o.at)}`,
  ];
  return lines.join('\r\n') + '\r\n';
}

/** Return-Path (RFC 5321 4.4), added by the final delivery. */
export function formatReturnPath(mailFrom: string): string {
  const safe = /^[^\s<>\r\n]*$/.test(mailFrom) ? mailFrom : '';
  return `Return-Path: <${safe}>\r\n`;
}
