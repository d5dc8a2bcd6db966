/**
 * Alert mail (issue #5), pure parts: which alerts are still to be sent today (each alert id at
 * most once per UTC day) and the message that carries one to the postmaster.
 */
import type { Alert } from './alerts.js';

/** What was mailed on one UTC day; kept in the store's settings under ALERTS_SENT_SETTING. */
export interface SentAlerts {
  /** YYYY-MM-DD (UTC). */
  day: string;
  ids: string[];
}

export const ALERTS_SENT_SETTING = 'alerts.sent';

export const utcDayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Reads the setting; anything unreadable counts as nothing sent. */
export function parseSentAlerts(text: string | null): SentAlerts | null {
  if (!text) return null;
  try {
    const v = JSON.parse(text) as Partial<SentAlerts>;
    if (typeof v.day === 'string' && Array.isArray(v.ids)) return { day: v.day, ids: v.ids.filter((x): x is string => typeof x === 'string') };
  } catch {
    // A damaged setting only means an alert may be mailed once more today.
  }
  return null;
}

/** The alerts not yet mailed today; ids from an earlier day no longer count. */
export function alertsToSend(alerts: readonly Alert[], sent: SentAlerts | null, now: number): Alert[] {
  const today = utcDayOf(now);
  const done = new Set(sent && sent.day === today ? sent.ids : []);
  const seen = new Set<string>();
  return alerts.filter((a) => {
    if (done.has(a.id) || seen.has(a.id)) return false;
    seen.add(a.id);
    return true;
  });
}

/** The state after mailing `ids` at `now`. */
export function markSent(sent: SentAlerts | null, ids: readonly string[], now: number): SentAlerts {
  const today = utcDayOf(now);
  const before = sent && sent.day === today ? sent.ids : [];
  return { day: today, ids: [...new Set([...before, ...ids])] };
}

export interface AlertMailOptions {
  /** The postmaster address the alert goes to. */
  to: string;
  /** The From address (a postmaster of ours). */
  from: string;
  /** Our host name: Message-ID right-hand side. */
  hostname: string;
  now: number;
}

/** Header text: no CR or LF, printable ASCII kept, anything else replaced (the values are ours, but PTR names are not). */
function headerSafe(text: string, max = 200): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? clean.slice(0, max - 3) + '...' : clean;
}

function bodySafe(text: string): string {
  return text.replace(/[^\x20-\x7e\t]/g, '?');
}

/** One plain-text message in CRLF lines, 7bit ASCII, marked auto-generated (RFC 3834) so nobody's autoresponder answers it. */
export function formatAlertMail(alert: Alert, o: AlertMailOptions): Buffer {
  const day = utcDayOf(o.now);
  const token = alert.id.replace(/[^A-Za-z0-9.-]/g, '_');
  const lines = [
    `From: Kagami alerts <${o.from}>`,
    `To: <${o.to}>`,
    `Subject: ${headerSafe(`[kagami] ${alert.severity}: ${alert.message}`)}`,
    `Date: ${new Date(o.now).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <alert.${day}.${token}@${o.hostname}>`,
    'Auto-Submitted: auto-generated',
    `Kagami-Alert: ${headerSafe(alert.id)}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    'Content-Transfer-Encoding: 7bit',
    '',
    bodySafe(alert.message),
    '',
    `Domain:   ${alert.domain}`,
    `Kind:     ${alert.kind}`,
    `Severity: ${alert.severity}`,
    `Alert id: ${bodySafe(alert.id)}`,
    '',
    'Figures:',
    ...Object.entries(alert.figures).map(([k, v]) => `  ${k}: ${bodySafe(v === null ? '-' : String(v))}`),
    '',
    'What to do:',
    `  ${bodySafe(alert.action)}`,
    '',
    `This alert is mailed at most once a day while it holds; \`kagami alerts --domain ${alert.domain}\` lists the current ones.`,
    '',
  ];
  // RFC 5321 4.5.3.1.6: keep lines under 1000 octets; a leading "." is fine, the queue is not SMTP DATA.
  return Buffer.from(lines.map((l) => (l.length > 990 ? l.slice(0, 990) : l)).join('\r\n'), 'latin1');
}
