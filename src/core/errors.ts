/**
 * The catalogue of errors a user can meet. Each has a stable code, whether it is temporary,
 * what it means and what to do next. SMTP replies carry a generic text; the detail goes to logs.
 * docs/errors.md is generated from this table (test/protocol/errors.test.ts keeps them in step).
 */
export interface ErrorEntry {
  code: string;
  /** Temporary errors may succeed on retry; permanent ones will not. */
  temporary: boolean;
  /** SMTP basic and enhanced status code, where the error surfaces in an SMTP reply. */
  smtp?: { code: number; enhanced: string; text: string };
  /** What happened, for logs and the CLI. */
  message: string;
  /** What the operator or user should do next. */
  action: string;
}

const entries = [
  {
    code: 'KGM-CONFIG-INVALID',
    temporary: false,
    message: 'The configuration is not valid.',
    action: 'Fix the setting named in the error (see docs/configuration.md) and start again.',
  },
  {
    code: 'KGM-CONFIG-UNREADABLE',
    temporary: false,
    message: 'The configuration file could not be read or is not valid TOML.',
    action: 'Check the path given with --config and the TOML syntax at the line named.',
  },
  {
    code: 'KGM-LISTEN-FAILED',
    temporary: false,
    message: 'A listener could not bind its address and port.',
    action: 'Choose a free port (--smtp-port, --http-port; 0 picks one) or stop what holds it.',
  },
  {
    code: 'KGM-DATA-DIR',
    temporary: false,
    message: 'The data directory could not be created or written.',
    action: 'Pass a writable --data DIR, or fix the owner and mode of the one named.',
  },
  {
    code: 'KGM-NODE-VERSION',
    temporary: false,
    message: 'Node.js is older than 22.19.',
    action: 'Run `. scripts/node24.sh` on this host, or install Node.js 24 LTS.',
  },
  {
    code: 'KGM-RELAY-DENIED',
    temporary: false,
    smtp: { code: 550, enhanced: '5.7.1', text: 'relaying denied' },
    message: 'A recipient outside our domains was given on the MX without authentication.',
    action: 'Add the domain with --domain or in `domains` if it should be accepted here.',
  },
  {
    code: 'KGM-RCPT-UNKNOWN',
    temporary: false,
    smtp: { code: 550, enhanced: '5.1.1', text: 'no such user here' },
    message: 'The recipient is not a known local user and unknown_local_user = "reject".',
    action: 'Add the user to delivery.local_users, or an alias.',
  },
  {
    code: 'KGM-RCPT-BAD-LOCALPART',
    temporary: false,
    smtp: { code: 550, enhanced: '5.1.3', text: 'recipient address has characters not allowed here' },
    message: 'The local part holds "/", NUL, "..", or starts with ".", which cannot name a mailbox.',
    action: 'Nothing on the server side; the sender used an address Kagami cannot map to a Maildir.',
  },
  {
    code: 'KGM-RCPT-ALIAS-LOOP',
    temporary: false,
    smtp: { code: 550, enhanced: '5.4.6', text: 'alias loop: the address leads to no mailbox' },
    message: 'An alias expands only to itself (a loop) and names no mailbox.',
    action: 'Fix the aliases table so the address ends at a local user or an outside address.',
  },
  {
    code: 'KGM-RCPT-TOO-MANY',
    temporary: true,
    smtp: { code: 452, enhanced: '4.5.3', text: 'too many recipients' },
    message: 'The transaction has reached limits.recipients.',
    action: 'The client should send the rest in another transaction; raise limits.recipients if needed.',
  },
  {
    code: 'KGM-MSG-TOO-BIG',
    temporary: false,
    smtp: { code: 552, enhanced: '5.3.4', text: 'message size exceeds fixed maximum message size' },
    message: 'The message is larger than limits.message_size.',
    action: 'Raise limits.message_size if such messages should be accepted.',
  },
  {
    code: 'KGM-MSG-HEADER-TOO-BIG',
    temporary: false,
    smtp: { code: 552, enhanced: '5.3.4', text: 'message header too large' },
    message: 'The header section is larger than limits.header_bytes or has more than limits.header_fields fields.',
    action: 'Raise limits.header_bytes or limits.header_fields if such messages are legitimate.',
  },
  {
    code: 'KGM-MSG-LINE-TOO-LONG',
    temporary: false,
    smtp: { code: 552, enhanced: '5.3.4', text: 'message has a line longer than allowed' },
    message: 'A line of the message is longer than limits.line_length.',
    action: 'Raise limits.line_length if such messages are legitimate (RFC 5322 allows 998).',
  },
  {
    code: 'KGM-MSG-BARE-NEWLINE',
    temporary: false,
    smtp: { code: 550, enhanced: '5.6.2', text: 'bare CR or LF in message; lines must end with CRLF (RFC 5321 2.3.8)' },
    message: 'The message holds a CR or LF that is not part of CRLF, a known SMTP smuggling vector.',
    action: 'The sending software must be fixed; set limits.bare_newline = "accept" to keep such bytes inside the message.',
  },
  {
    code: 'KGM-DMARC-REJECT',
    temporary: false,
    smtp: { code: 550, enhanced: '5.7.1', text: 'DMARC policy rejects this message' },
    message: "The message failed DMARC and its domain's policy is reject.",
    action: 'If the mail is legitimate, the sending domain must align SPF or DKIM; a trusted forwarder or list goes in [policy] (see `kagami log --action reject`).',
  },
  {
    code: 'KGM-DMARC-TEMPFAIL',
    temporary: true,
    smtp: { code: 451, enhanced: '4.4.3', text: 'DNS temporary failure during the DMARC check, try again later' },
    message: 'DMARC could not be evaluated because of a DNS temporary failure.',
    action: 'Nothing for the sender (it retries); check the DNS servers given with --dns if this persists.',
  },
  {
    code: 'KGM-FROM-INVALID',
    temporary: false,
    smtp: { code: 550, enhanced: '5.7.1', text: 'the message must have exactly one From address' },
    message: 'The message has no From header field, several, or one naming several domains (RFC 5322 3.6).',
    action: 'The sending software must write exactly one From mailbox.',
  },
  {
    code: 'KGM-SPOOL-WRITE',
    temporary: true,
    smtp: { code: 451, enhanced: '4.3.0', text: 'local error in processing, try again later' },
    message: 'The message could not be written to the spool or committed to the queue.',
    action: 'Check free disk space and the data directory; the client will retry.',
  },
  {
    code: 'KGM-TOO-MANY-CONNECTIONS',
    temporary: true,
    smtp: { code: 421, enhanced: '4.7.0', text: 'too many connections from your address, try again later' },
    message: 'A client IP has more open connections than limits.connections_per_ip.',
    action: 'Raise limits.connections_per_ip if the client is a trusted relay.',
  },
  {
    code: 'KGM-SHUTTING-DOWN',
    temporary: true,
    smtp: { code: 421, enhanced: '4.3.2', text: 'service shutting down, try again later' },
    message: 'The server is stopping.',
    action: 'None: the client retries once the server is back.',
  },
  {
    code: 'KGM-DELIVERY-MAILDIR',
    temporary: true,
    message: 'Writing a message to a Maildir failed.',
    action: 'Check disk space and permissions of DATA/mail; the delivery is retried.',
  },
  {
    code: 'KGM-DELIVERY-LMTP',
    temporary: true,
    message: 'The LMTP server did not take the message.',
    action: 'Check that the mailbox server named in delivery.lmtp is up; temporary replies are retried.',
  },
  {
    code: 'KGM-DELIVERY-REMOTE',
    temporary: true,
    message: 'Delivery to an outside address (alias target) failed.',
    action: 'See the last error in `kagami queue`; temporary failures are retried until queue.max_age.',
  },
  {
    code: 'KGM-VERIFY-INPUT',
    temporary: false,
    message: 'The message to verify could not be read.',
    action: 'Give a readable file of one RFC 5322 message, or - to read standard input.',
  },
  {
    code: 'KGM-VERIFY-USAGE',
    temporary: false,
    message: 'kagami verify needs the SMTP facts of the message.',
    action: "Give --ip (the client's address), --helo (its HELO name) and --mail-from (the reverse-path; '' for a bounce).",
  },
  {
    code: 'KGM-DKIM-KEY-EXISTS',
    temporary: false,
    message: 'A DKIM key with this selector already exists for the domain.',
    action: 'Choose another --selector (a date like 2026-12 works well); rotating keys is `kagami dkim rotate`.',
  },
  {
    code: 'KGM-DKIM-USAGE',
    temporary: false,
    message: 'The selector or domain is not a valid DNS label or name.',
    action: 'Use letters, digits and hyphens: --selector 2026-12 --domain example.com.',
  },
  {
    code: 'KGM-REPORT-TLSRPT',
    temporary: false,
    message: 'The input is not an SMTP TLS report (RFC 8460 4.4): not JSON, or lacking its required members.',
    action: 'Check that the file is a TLS-RPT JSON report (application/tlsrpt+json or +gzip); it is recorded as a rejected input.',
  },
  {
    code: 'KGM-REPORT-FOREIGN',
    temporary: false,
    message: 'A report that arrived by mail is about a domain Kagami does not accept mail for.',
    action: 'Nothing, if it was misaddressed; otherwise add the domain with --domain (a file import takes any domain).',
  },
  {
    code: 'KGM-REPORT-IMAP',
    temporary: true,
    message: 'Polling the IMAP mailbox for reports failed (connect, login, folder, or fetch).',
    action: 'Check reports.imap (host, port, tls, user, password_file, folder) and the server; the next poll retries.',
  },
  {
    code: 'KGM-ARC-SEAL',
    temporary: false,
    message: 'The message could not be ARC-sealed (its newest seal already failed, the chain is full, or the key is unusable).',
    action: 'Check arc signing key and selector; a chain that already failed is passed on unsealed, as RFC 8617 5.1 says.',
  },
  {
    code: 'KGM-QUARANTINE-UNKNOWN',
    temporary: false,
    message: 'No quarantined message has this id.',
    action: 'Take the id ("<queue id>.<recipient index>") from `kagami quarantine list --all`, with the same --data.',
  },
  {
    code: 'KGM-QUARANTINE-NOT-HELD',
    temporary: false,
    message: 'The quarantined message was already released or deleted.',
    action: 'Nothing to do; `kagami quarantine show ID` says when and where it went.',
  },
  {
    code: 'KGM-QUARANTINE-FILE-MISSING',
    temporary: false,
    message: "The quarantined message is not in the mailbox's Junk folder.",
    action: 'If `kagami queue` still lists it, wait for its delivery and try again; otherwise the mailbox owner moved or removed it (look under DATA/mail/<mailbox>/), and `kagami quarantine delete ID` clears the entry.',
  },
  {
    code: 'KGM-REPORT-TOO-LARGE',
    temporary: false,
    message: 'A DMARC report, or one file inside it, is larger than the configured limit.',
    action: 'Nothing, if the reporter is unknown; otherwise raise reports.max_decompressed_bytes for trusted reporters.',
  },
  {
    code: 'KGM-REPORT-BOMB',
    temporary: false,
    message: 'A compressed DMARC report inflates far beyond its size (a decompression bomb) and was refused unread.',
    action: 'Nothing to do; the file is hostile or broken. The reporter named in the mail may be told.',
  },
  {
    code: 'KGM-REPORT-ZIP',
    temporary: false,
    message: 'A zip or gzip DMARC report is damaged, has too many members, or uses an unsupported feature.',
    action: 'Nothing on our side; ask the reporter to send a plain gzip or single-member zip.',
  },
  {
    code: 'KGM-REPORT-XML',
    temporary: false,
    message: 'A DMARC report is not well-formed, bounded XML (bad syntax, a DOCTYPE or entity, or nesting too deep).',
    action: 'Nothing on our side; DOCTYPE and entities are refused on purpose (billion laughs, external entities).',
  },
  {
    code: 'KGM-REPORT-NOT-DMARC',
    temporary: false,
    message: 'The input is not a DMARC report: XML without a <feedback> holding metadata, policy and records, or an ARF feedback report of another type (an abuse complaint, Feedback-Type: abuse).',
    action: 'Check what was sent to the report address; abuse complaints belong in an abuse@ mailbox, not in rua/ruf.',
  },
  {
    code: 'KGM-REPORT-NO-REPORT',
    temporary: false,
    message: 'The input holds no DMARC aggregate or TLS report (an unknown file type, or a message without a report attachment).',
    action: 'Check what was given to `kagami reports import`; it is recorded as a rejected input and the batch goes on.',
  },
  {
    code: 'KGM-REPORT-FAILURE',
    temporary: false,
    message: 'A DMARC failure (ruf) report could not be read: its message/feedback-report part is missing, empty or malformed, or it names no reported domain.',
    action: 'Nothing on our side; the reporter sent a broken report (`kagami reports rejected` keeps its name and reason).',
  },
  {
    code: 'KGM-REPORT-UNKNOWN',
    temporary: false,
    message: 'No stored report has this id.',
    action: 'Take the id ("<reporter org>!<report id>") from `kagami reports list`, with the same --data.',
  },
] as const satisfies readonly ErrorEntry[];

export type ErrorCode = (typeof entries)[number]['code'];

export const errorCatalogue: readonly ErrorEntry[] = entries;

const byCode = new Map<string, ErrorEntry>(entries.map((e) => [e.code, e]));

export function errorEntry(code: ErrorCode): ErrorEntry {
  const entry = byCode.get(code);
  if (!entry) throw new Error(`unknown error code ${code}`);
  return entry;
}

/** An error a user can meet, carrying its catalogue code. */
export class KagamiError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const entry = errorEntry(code);
    super(detail ? `${entry.message} ${detail}` : entry.message, options);
    this.code = code;
    this.detail = detail;
  }
  /** One line for a terminal: code, what happened, what to do. */
  describe(): string {
    return `${this.code}: ${this.message}\n  What to do: ${errorEntry(this.code).action}`;
  }
}

/** The SMTP reply text for a catalogued error: "5.7.1 relaying denied". */
export function smtpReply(code: ErrorCode, detail?: string): { responseCode: number; message: string } {
  const entry = errorEntry(code);
  if (!entry.smtp) throw new Error(`${code} has no SMTP reply`);
  return {
    responseCode: entry.smtp.code,
    message: `${entry.smtp.enhanced} ${detail ?? entry.smtp.text}`,
  };
}
