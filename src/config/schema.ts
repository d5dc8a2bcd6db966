/**
 * The configuration schema: one TOML file, every setting with a default, so `kagami serve` runs
 * with no file at all (DESIGN.md §5). The file reads in SMTP-phase order: who we are, where we
 * listen, what we accept (limits), where it goes (delivery). docs/configuration.md describes it.
 */
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9_.-]+$/, 'a host name: letters, digits, "-", "_" and "."');
const domainName = hostName.transform((s) => s.toLowerCase().replace(/\.$/, ''));

export const limitsSchema = z
  .object({
    /** Largest message accepted, in bytes (advertised with SIZE, RFC 1870). */
    message_size: z.number().int().positive().default(26_214_400),
    /** Recipients per transaction; more get 452 4.5.3 (RFC 5321 4.5.3.1.8 asks for at least 100). */
    recipients: z.number().int().positive().default(100),
    /** Longest line in a message, in bytes without the CRLF. RFC 5322 2.1.1 sets 998. */
    line_length: z.number().int().positive().default(8192),
    /** Largest header section, in bytes. */
    header_bytes: z.number().int().positive().default(262_144),
    /** Most header fields in one message. */
    header_fields: z.number().int().positive().default(1000),
    /** Open connections from one client IP. */
    connections_per_ip: z.number().int().positive().default(20),
    /** Open connections in all. */
    connections: z.number().int().positive().default(1000),
    /** Seconds a client may stay silent before the connection is closed (RFC 5321 4.5.3.2.7: 5 minutes). */
    idle_timeout: z.number().positive().default(300),
    /** A CR or LF not part of CRLF in DATA: "reject" (550 5.6.2) or "accept" (kept inside the message). */
    bare_newline: z.enum(['reject', 'accept']).default('reject'),
  })
  .strict();

export const deliverySchema = z
  .object({
    /** "maildir": DATA/mail/<domain>/<user>/; "lmtp": hand every local recipient to an LMTP server. */
    mode: z.enum(['maildir', 'lmtp']).default('maildir'),
    /** A recipient of our domains with no Maildir yet: "accept" (created on first delivery) or "reject" (550 5.1.1). */
    unknown_local_user: z.enum(['accept', 'reject']).default('accept'),
    /** Known local users: "user" (in every domain of ours) or "user@domain". */
    local_users: z.array(z.string().min(1)).default([]),
    /** Parallel deliveries. */
    concurrency: z.number().int().positive().max(256).default(16),
    /** Seconds between retries of a temporary failure, last one repeated. */
    retry_intervals: z.array(z.number().positive()).min(1).default([60, 300, 900, 1800, 3600]),
    /** Seconds after which a message still failing temporarily is bounced (5 days, as Postfix's maximal_queue_lifetime). */
    max_age: z.number().positive().default(432_000),
    /** Hours a delivered or bounced message stays listed by `kagami queue` before its rows are purged. */
    retain_done_hours: z.number().nonnegative().default(24),
    /** Port for delivery to outside addresses (alias targets); 25 except in tests. */
    remote_port: port.default(25),
    /** Seconds to wait for a remote or LMTP server at each step. */
    timeout: z.number().positive().default(30),
    lmtp: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: port.default(24),
        /** A Unix socket path; used instead of host and port when set. */
        socket: z.string().optional(),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 24 }),
  })
  .strict();

export const configSchema = z
  .object({
    /** Our host name: in the greeting, Received fields and the certificate. */
    hostname: hostName.default('mx.localhost.test'),
    /** The domains we accept mail for (`--domain`). */
    domains: z.array(domainName).default([]),
    /** Where Kagami keeps its state (`--data`). */
    data_dir: z.string().min(1).default('./data'),
    /** Address every listener binds (`--listen`); "0.0.0.0" or "::" in production. */
    listen: z.string().min(1).default('127.0.0.1'),
    /** Started as root: bind the ports, then run as this user. */
    run_as: z.string().min(1).optional(),
    smtp: z.object({ port: port.default(2525) }).strict().default({ port: 2525 }),
    http: z.object({ port: port.default(8025) }).strict().default({ port: 8025 }),
    dns: z
      .object({
        /** "HOST", "HOST:PORT" or "[v6]:PORT"; empty = /etc/resolv.conf. */
        servers: z.array(z.string().min(1)).default([]),
        /** Milliseconds to wait for one answer before trying the next server. */
        timeout_ms: z.number().int().positive().default(2000),
        /** Rounds over the server list. */
        attempts: z.number().int().positive().default(2),
      })
      .strict()
      .default({ servers: [], timeout_ms: 2000, attempts: 2 }),
    tls: z
      .object({
        /** PEM certificate chain; without it a self-signed one is made in DATA/tls/. Reloaded on SIGHUP. */
        cert: z.string().optional(),
        key: z.string().optional(),
      })
      .strict()
      .refine((t) => Boolean(t.cert) === Boolean(t.key), 'tls.cert and tls.key go together')
      .default({}),
    limits: limitsSchema.default(limitsSchema.parse({})),
    delivery: deliverySchema.default(deliverySchema.parse({})),
    /** Address (lowercase) → local users or outside addresses. */
    aliases: z.record(z.string(), z.array(z.string().min(3)).min(1)).default({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type KagamiConfig = z.infer<typeof configSchema>;
export type LimitsConfig = KagamiConfig['limits'];
export type DeliveryConfig = KagamiConfig['delivery'];

/** The domain a fresh install accepts mail for when none is given (DESIGN.md §5). */
export const DEFAULT_DOMAIN = 'localhost.test';
