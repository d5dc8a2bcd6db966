/**
 * The configuration schema: one TOML file, every setting with a default, so `kagami serve` runs
 * with no file at all (DESIGN.md §5). The file reads in SMTP-phase order: who we are, where we
 * listen, what we accept (limits), where it goes (delivery). docs/configuration.md describes it.
 */
import { isIP } from 'node:net';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9_.-]+$/, 'a host name: letters, digits, "-", "_" and "."');
const domainName = hostName.transform((s) => s.toLowerCase().replace(/\.$/, ''));
/** "192.0.2.1", "2001:db8::1", "203.0.113.0/28", "2001:db8::/48". */
function isIpOrCidr(s: string): boolean {
  const [ip, bits, extra] = s.split('/');
  const family = isIP(ip ?? '');
  if (family === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

export const limitsSchema = z
  .object({
    message_size: z.number().int().positive().default(26_214_400).describe('Largest message accepted, in bytes (advertised with SIZE, RFC 1870).'),
    recipients: z.number().int().positive().default(100).describe('Recipients per transaction; more get 452 4.5.3 (RFC 5321 4.5.3.1.8 asks for at least 100).'),
    line_length: z.number().int().positive().default(8192).describe('Longest line in a message, in bytes without the CRLF. RFC 5322 2.1.1 sets 998.'),
    header_bytes: z.number().int().positive().default(262_144).describe('Largest header section, in bytes.'),
    header_fields: z.number().int().positive().default(1000).describe('Most header fields in one message.'),
    connections_per_ip: z.number().int().positive().default(50).describe('Open connections from one client IP (Postfix smtpd_client_connection_count_limit is also 50).'),
    connections: z.number().int().positive().default(1000).describe('Open connections in all.'),
    idle_timeout: z.number().positive().default(300).describe('Seconds a client may stay silent before the connection is closed (RFC 5321 4.5.3.2.7: 5 minutes).'),
    bare_newline: z.enum(['reject', 'accept']).default('reject').describe('A CR or LF not part of CRLF in DATA: "reject" (550 5.6.2) or "accept" (kept inside the message).'),
  })
  .strict();

export const deliverySchema = z
  .object({
    mode: z.enum(['maildir', 'lmtp']).default('maildir').describe('"maildir": DATA/mail/<domain>/<user>/; "lmtp": hand every local recipient to an LMTP server.'),
    unknown_local_user: z.enum(['accept', 'reject']).default('accept').describe('A recipient of our domains with no Maildir yet: "accept" (created on first delivery) or "reject" (550 5.1.1).'),
    local_users: z.array(z.string().min(1)).default([]).describe('Known local users: "user" (in every domain of ours) or "user@domain".'),
    concurrency: z.number().int().positive().max(256).default(16).describe('Parallel deliveries.'),
    retry_intervals: z.array(z.number().positive()).min(1).default([60, 300, 900, 1800, 3600]).describe('Seconds between retries of a temporary failure, last one repeated.'),
    max_age: z.number().positive().default(432_000).describe('Seconds after which a message still failing temporarily is bounced (5 days, as Postfix\'s maximal_queue_lifetime).'),
    retain_done_hours: z.number().nonnegative().default(24).describe('Hours a delivered or bounced message stays listed by `kagami queue` before its rows are purged.'),
    remote_port: port.default(25).describe('Port for delivery to outside addresses (alias targets); 25 except in tests.'),
    timeout: z.number().positive().default(30).describe('Seconds to wait for a remote or LMTP server at each step.'),
    lmtp: z
      .object({
        host: z.string().default('127.0.0.1').describe('LMTP server host.'),
        port: port.default(24).describe('LMTP server port.'),
        socket: z.string().optional().describe('A Unix socket path; used instead of host and port when set.'),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 24 }),
  })
  .strict();

/** Bounds on report intake (issue #5): what a hostile or broken report may cost before it is refused. */
export const reportLimitsSchema = z
  .object({
    max_decompressed_bytes: z.number().int().positive().default(50 * 1024 * 1024).describe('Most bytes one report input may inflate to (all gzip/zip members together), and most bytes of a file read by `kagami reports import`; more is refused with KGM-REPORT-TOO-LARGE.'),
    max_ratio: z.number().positive().default(1000).describe('Most inflated bytes per compressed byte, checked once output passes 1 MiB; more is a decompression bomb (KGM-REPORT-BOMB).'),
    max_members: z.number().int().positive().default(20).describe('Most members a zip report may hold (KGM-REPORT-ZIP).'),
    max_xml_depth: z.number().int().positive().default(20).describe('Deepest element nesting accepted in aggregate XML (a report needs 5; KGM-REPORT-XML).'),
    max_records: z.number().int().positive().default(100_000).describe('Most <record> elements in one aggregate report (KGM-REPORT-XML).'),
    max_tls_bytes: z.number().int().positive().default(10 * 1024 * 1024).describe('Most bytes of one TLS report\'s JSON (KGM-REPORT-TOO-LARGE).'),
  })
  .strict();

export const alertsSchema = z
  .object({
    enabled: z.boolean().default(true).describe('While `kagami serve` runs, check for alerts from the stored reports and mail each new one to the postmaster (at most once per alert per UTC day).'),
    postmaster: z
      .string()
      .regex(/^[^\s@<>]+@[A-Za-z0-9_.-]+$/, 'an address, such as postmaster@example.com')
      .optional()
      .describe('Where alert mail goes; unset = postmaster@ the first of our domains.'),
    interval: z.number().positive().default(3600).describe('Seconds between alert checks (the first runs at start).'),
    recent_days: z.number().positive().default(2).describe('Days before now that make the recent window; reports count in the window their period begins in (2 days, since reports for yesterday arrive today).'),
    baseline_days: z.number().positive().default(14).describe('Days before the recent window that make the baseline it is compared with.'),
    new_source_messages: z.number().int().positive().default(10).describe('new-unknown-source: messages in the recent window from an unknown-class IP not seen before it.'),
    pass_rate_drop_points: z.number().positive().max(100).default(10).describe('pass-rate-drop: percentage points the recent DMARC pass rate must fall below the baseline\'s.'),
    pass_rate_min_messages: z.number().int().positive().default(100).describe('pass-rate-drop: messages the recent window and the baseline each need before their rates are compared.'),
    silent_days: z.number().positive().default(3).describe('reporter-silent: days since the end of a regular reporter\'s last report period.'),
    silent_min_reports: z.number().int().positive().default(3).describe('reporter-silent: reports in the recent window and baseline that make a reporter regular.'),
    tls_failure_rate: z.number().positive().max(1).default(0.05).describe('tls-failure-spike: share of failed TLS sessions (0 to 1) in the recent window.'),
    tls_min_failed: z.number().int().positive().default(10).describe('tls-failure-spike: failed sessions the recent window needs.'),
    tls_spike_factor: z.number().positive().default(2).describe('tls-failure-spike: times the baseline failure rate the recent one must reach (when the baseline had failures).'),
  })
  .strict();

export const configSchema = z
  .object({
    hostname: hostName.default('mx.localhost.test').describe('Our host name: in the greeting, Received fields and the certificate.'),
    domains: z.array(domainName).default([]).describe('The domains we accept mail for (`--domain`); none given: those recorded in DATA by an earlier start, else localhost.test.'),
    data_dir: z.string().min(1).default('./data').describe('Where Kagami keeps its state (`--data`).'),
    listen: z.string().min(1).default('127.0.0.1').describe('Address every listener binds (`--listen`); "0.0.0.0" or "::" in production.'),
    run_as: z.string().min(1).optional().describe('Started as root: bind the ports, then run as this user.'),
    smtp: z.object({ port: port.default(2525).describe('MX port (`--smtp-port`); 25 in production, 0 = a free port.') }).strict().default({ port: 2525 }),
    http: z.object({ port: port.default(8025).describe('Metrics (and later API and dashboard) port (`--http-port`); 0 = a free port.') }).strict().default({ port: 8025 }),
    dns: z
      .object({
        servers: z.array(z.string().min(1)).default([]).describe('"HOST", "HOST:PORT" or "[v6]:PORT"; empty = /etc/resolv.conf.'),
        timeout_ms: z.number().int().positive().default(2000).describe('Milliseconds to wait for one answer before trying the next server.'),
        attempts: z.number().int().positive().default(2).describe('Rounds over the server list.'),
      })
      .strict()
      .default({ servers: [], timeout_ms: 2000, attempts: 2 }),
    tls: z
      .object({
        cert: z.string().optional().describe('PEM certificate chain; without it a self-signed one is made in DATA/tls/. Reloaded on SIGHUP.'),
        key: z.string().optional().describe('PEM private key for tls.cert.'),
      })
      .strict()
      .refine((t) => Boolean(t.cert) === Boolean(t.key), 'tls.cert and tls.key go together')
      .default({}),
    limits: limitsSchema.default(limitsSchema.parse({})),
    delivery: deliverySchema.default(deliverySchema.parse({})),
    aliases: z.record(z.string(), z.array(z.string().min(3)).min(1)).default({}).describe('Address (lowercase) → local users or outside addresses.'),
    reports: z
      .object({
        addresses: z
          .array(z.string().regex(/^[a-z0-9._+-]+$/i, 'a local part, such as dmarc'))
          .default(['dmarc', 'tlsrpt'])
          .describe('Local parts whose mail, in every domain of ours, is read as DMARC and TLS reports (rua=mailto:dmarc@example.com).'),
        deliver: z.boolean().default(false).describe('Also deliver report mail to the Maildir of that address.'),
        imap: z
          .object({
            host: z.string().min(1).describe('IMAP server polled for report mail.'),
            port: port.default(993).describe('IMAP server port.'),
            tls: z.enum(['implicit', 'starttls', 'none']).default('implicit').describe('"implicit" (IMAPS), "starttls", or "none" (plaintext; tests only).'),
            user: z.string().min(1).describe('IMAP login name.'),
            password_file: z.string().min(1).describe('File holding the IMAP password (first line); the password never goes in the config or logs.'),
            folder: z.string().min(1).default('INBOX').describe('Folder read for reports.'),
            move_to: z.string().min(1).optional().describe('Folder processed mail is moved into; without it, processed mail is flagged \\Seen and only unseen mail is read.'),
            interval: z.number().positive().default(300).describe('Seconds between polls.'),
            reject_unauthorized: z.boolean().default(true).describe('Refuse an IMAP server certificate that does not verify.'),
          })
          .strict()
          .optional()
          .describe('An IMAP mailbox polled for DMARC and TLS reports (imapflow); unset = no polling.'),
        own_ips: z
          .array(z.string().refine(isIpOrCidr, 'an IPv4 or IPv6 address, or a CIDR such as 203.0.113.0/28'))
          .default([])
          .describe('Addresses and CIDRs Kagami sends from that it cannot see itself (the public address behind NAT): `kagami sources` classes them "ours", as it does the local addresses of its own deliveries.'),
        limits: reportLimitsSchema.default(reportLimitsSchema.parse({})).describe('Bounds on every report input, by mail, IMAP or file.'),
      })
      .strict()
      .default({ addresses: ['dmarc', 'tlsrpt'], deliver: false, own_ips: [], limits: reportLimitsSchema.parse({}) }),
    policy: z
      .object({
        enforce: z
          .union([z.boolean(), z.literal('shadow')])
          .default(true)
          .describe('true: act on the sender\'s DMARC policy; false: only record verdicts; "shadow": record what would have been done.'),
        on_temperror: z
          .enum(['tempfail', 'deliver'])
          .default('tempfail')
          .describe('DNS trouble during DMARC: "tempfail" answers 451 4.7.5 so the sender retries (never a pass), "deliver" accepts the message.'),
        trusted_arc_sealers: z.array(domainName).default([]).describe('ARC sealers (AS d= domains) whose passing chain vouches for forwarded mail (override: trusted_forwarder).'),
        trusted_forwarders: z.array(z.string().min(1)).default([]).describe('Forwarders trusted not to spoof: IPs, CIDRs, or host names matched against the PTR name (override: trusted_forwarder).'),
        mailing_lists: z.array(z.string().min(1)).default([]).describe('Mailing lists accepted despite a DMARC fail: List-Id values or their domains (override: mailing_list).'),
        exceptions: z.array(domainName).default([]).describe('Author domains whose DMARC failures are always delivered (override: local_policy).'),
        shadow: z
          .object({
            quarantine_as_reject: z.boolean().default(true).describe('Shadow policy: quarantine becomes reject.'),
            ignore_testing: z.boolean().default(true).describe('Shadow policy: t=y is treated as t=n.'),
            enforce_none: z.boolean().default(true).describe('Shadow policy: p=none is treated as quarantine.'),
          })
          .strict()
          .default({ quarantine_as_reject: true, ignore_testing: true, enforce_none: true }),
      })
      .strict()
      .default({
        enforce: true,
        on_temperror: 'tempfail',
        trusted_arc_sealers: [],
        trusted_forwarders: [],
        mailing_lists: [],
        exceptions: [],
        shadow: { quarantine_as_reject: true, ignore_testing: true, enforce_none: true },
      }),
    alerts: alertsSchema.default(alertsSchema.parse({})),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level (`--log-level`); logs are JSON lines on stdout.') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type KagamiConfig = z.infer<typeof configSchema>;
export type LimitsConfig = KagamiConfig['limits'];
export type DeliveryConfig = KagamiConfig['delivery'];

/** The domain a fresh install accepts mail for when none is given (DESIGN.md §5). */
export const DEFAULT_DOMAIN = 'localhost.test';
