/**
 * The Store port: the queue and Kagami's other state. SQLite (embedded default) implements it
 * now and PostgreSQL (cluster) later; test/contract/store.contract.ts is the suite both must pass.
 */

import type { AggregateReport } from '../reports/model/aggregate.js';
import type { TlsReport } from '../reports/model/tlsrpt.js';
import type { FailureReport } from '../reports/model/failure.js';

/** How a recipient is delivered. */
export type Route = 'maildir' | 'lmtp' | 'remote' | 'reports';

/** Where a recipient stands in the queue. */
export type RecipientState = 'queued' | 'deferred' | 'delivered' | 'bounced';

export interface NewRecipient {
  /** The address as given in RCPT TO. */
  address: string;
  route: Route;
  /** maildir: "<domain>/<user>"; lmtp and remote: the address to deliver to. */
  mailbox: string;
  /** A Maildir++ folder ("Junk" for quarantine); absent for INBOX. */
  folder?: string;
}

/** A message accepted by the MX, to be committed with its recipients before the 250. */
export interface NewMessage {
  /** Queue id, also the spool file name. */
  id: string;
  /** Milliseconds since the epoch. */
  receivedAt: number;
  /** The reverse-path; "" for the null reverse-path (bounces). */
  mailFrom: string;
  /** Bytes of the message as received (dot-unstuffed). */
  size: number;
  clientIp: string;
  helo: string;
  /** Header fields Kagami prepends at delivery (Return-Path is added per delivery, not here). */
  traceHeaders: string;
  /**
   * The spool file is already the message as delivered: Return-Path and `traceHeaders` on top.
   * Maildir delivery then hard-links it instead of writing a copy.
   */
  spoolComplete?: boolean;
  recipients: NewRecipient[];
  /** The authentication verdict, committed with the queue row. */
  verdict?: VerdictRow;
  /** The message bytes when they are still in memory: handed to the worker, never stored. */
  content?: Buffer;
  /** Set when the message is quarantined: the index entry, one per local recipient. */
  quarantine?: { reason: string; headerFrom: string | null; fromDomain: string | null; subject: string | null };
}

/** One quarantined message for one recipient (the quarantine index). */
export interface QuarantineEntry {
  /** "<queue id>.<recipient index>": what `kagami quarantine show|release|delete` take. */
  id: string;
  queueId: string;
  idx: number;
  /** The recipient as given in RCPT TO. */
  address: string;
  /** "<domain>/<user>" of the Maildir (or the LMTP address). */
  mailbox: string;
  route: Route;
  /** Milliseconds since the epoch. */
  at: number;
  mailFrom: string;
  headerFrom: string | null;
  fromDomain: string | null;
  subject: string | null;
  reason: string;
  state: 'held' | 'released' | 'deleted';
  /** When it was released or deleted. */
  changedAt: number | null;
}

/** What was checked and decided for one message (or refused attempt). */
export interface VerdictRow {
  id: string;
  queueId: string | null;
  /** Milliseconds since the epoch. */
  at: number;
  clientIp: string;
  ptr: string | null;
  helo: string;
  mailFrom: string;
  headerFrom: string | null;
  fromDomain: string | null;
  recipients: string[];
  spfResult: string;
  /** Summary over all signatures: the best result (pass if any passed). */
  dkimResult: string;
  arcResult: string;
  dmarcResult: string;
  /** deliver, quarantine, reject, tempfail. */
  action: string;
  /** The full evaluations (JSON-serialisable). */
  detail: unknown;
}

export interface VerdictFilter {
  /** The RFC5322.From domain. */
  fromDomain?: string;
  action?: string;
  /** Milliseconds since the epoch, inclusive. */
  since?: number;
  until?: number;
  limit?: number;
}

/** One recipient due for a delivery attempt, with what the worker needs of its message. */
export interface PendingDelivery {
  messageId: string;
  idx: number;
  address: string;
  route: Route;
  mailbox: string;
  folder?: string;
  attempts: number;
  mailFrom: string;
  receivedAt: number;
  traceHeaders: string;
  /** See NewMessage.spoolComplete. */
  spoolComplete: boolean;
  size: number;
}

/** The outcome of one delivery attempt. */
export type DeliveryOutcome =
  | { messageId: string; idx: number; state: 'delivered'; at: number }
  | { messageId: string; idx: number; state: 'deferred'; at: number; nextAttemptAt: number; error: string }
  | { messageId: string; idx: number; state: 'bounced'; at: number; error: string };

export interface QueueRecipient {
  address: string;
  state: RecipientState;
  attempts: number;
  /** ISO 8601, or null when no further attempt is planned. */
  nextAttemptAt: string | null;
  lastError: string | null;
}

export interface QueueEntry {
  id: string;
  /** ISO 8601. */
  receivedAt: string;
  from: string;
  size: number;
  recipients: QueueRecipient[];
}

/** A DKIM signing key known to the key store. */
export interface DkimKeyEntry {
  domain: string;
  selector: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  state: 'active' | 'pending';
  /** Milliseconds since the epoch. */
  createdAt: number;
}

/** DMARC aggregate (RFC 9990), DMARC failure (RFC 9991) or SMTP TLS (RFC 8460). */
export type ReportKind = 'aggregate' | 'failure' | 'tls';

/** Where a report came from. */
export type ReportSource = 'file' | 'mail' | 'imap';

/** A stored report, as listed (no records). `begin`/`end` are seconds since the epoch; `receivedAt` ms. */
export interface ReportSummary {
  /** "<reporter org>!<report id>". */
  id: string;
  kind: ReportKind;
  org: string;
  reportId: string;
  /** policy_published/domain (aggregate) or the first policy-domain (TLS). */
  domain: string;
  begin: number;
  end: number;
  receivedAt: number;
  source: ReportSource;
  /** Aggregate: rows and summed message count; TLS: summed successful and failed sessions; failure: 1, 1, 1. */
  records: number;
  messages: number;
  failed: number;
}

export interface StoredAggregateRecord {
  sourceIp: string;
  count: number;
  disposition: string | null;
  dkimAligned: string | null;
  spfAligned: string | null;
  headerFrom: string;
  envelopeFrom: string | null;
  dkim: unknown[];
  spf: unknown[];
  overrides: unknown[];
}

export interface StoredTlsPolicy {
  policyType: string;
  policyDomain: string;
  successful: number;
  failed: number;
}

export interface StoredTlsFailure {
  policyDomain: string;
  resultType: string;
  sendingIp: string | null;
  receivingMx: string | null;
  receivingIp: string | null;
  failedCount: number;
}

/** The normalised row of a failure report (the whole parsed report is the StoredReport's `policy`). */
export interface StoredFailure {
  format: string;
  authFailure: string | null;
  sourceIp: string | null;
  /** Seconds since the epoch, or null. */
  arrivalDate: number | null;
  originalMailFrom: string | null;
  originalRcptTo: string[];
  headerFrom: string | null;
  subject: string | null;
  identityAlignment: string | null;
  dkimDomain: string | null;
  dkimSelector: string | null;
  deliveryResult: string | null;
  authenticationResults: string | null;
  originalHeaders: string | null;
}

/** One report with everything stored about it. */
export interface StoredReport extends ReportSummary {
  policy: unknown;
  warnings: unknown[];
  aggregateRecords: StoredAggregateRecord[];
  tlsPolicies: StoredTlsPolicy[];
  tlsFailures: StoredTlsFailure[];
  /** Failure reports only; null otherwise. */
  failure: StoredFailure | null;
}

export interface ReportFilter {
  domain?: string;
  kind?: ReportKind;
  /** Reports whose period ends at or after this (ms since the epoch). */
  since?: number;
  /** Reports whose period begins before this (ms since the epoch). */
  until?: number;
  limit?: number;
}

export interface RejectedInput {
  id: string;
  /** ms since the epoch. */
  at: number;
  source: ReportSource;
  name: string;
  code: string;
  reason: string;
  size: number;
}

/** An address Kagami delivered mail from: the local address of successful outbound SMTP transactions. */
export interface OutboundSource {
  ip: string;
  /** ms since the epoch. */
  firstSeen: number;
  lastSeen: number;
  /** Successful transactions from it. */
  count: number;
}

/** A cached reverse-DNS answer for one address. */
export interface PtrCacheEntry {
  ip: string;
  /** The PTR name (lowercase, no trailing dot; the first forward-confirmed one if any), or null for NXDOMAIN/NODATA. */
  ptr: string | null;
  /** Whether the name's A/AAAA records lead back to the address. */
  confirmed: boolean;
  /** ms since the epoch. */
  fetchedAt: number;
  /** ms since the epoch; the entry is not used from then on. */
  expiresAt: number;
}

export interface Store {
  /** Brings the schema up to date. */
  migrate(): Promise<void>;
  /** Commits messages and their recipients in one transaction (group commit). */
  enqueue(messages: readonly NewMessage[]): Promise<void>;
  /** Recipients in state queued or deferred whose next attempt is due at `now` (ms), oldest first. */
  dueDeliveries(now: number, limit: number): Promise<PendingDelivery[]>;
  /** Earliest next attempt (ms) among queued and deferred recipients, or null. */
  nextAttemptAt(): Promise<number | null>;
  /**
   * Records outcomes in one transaction; returns the ids of messages that now have no pending
   * recipient. `durable: false` lets the commit skip its fsync: for outcomes that a lost commit
   * cannot turn into a second delivery (Maildir deliveries are found again by their tag).
   */
  recordOutcomes(outcomes: readonly DeliveryOutcome[], options?: { durable?: boolean }): Promise<string[]>;
  /** Messages and their recipients, oldest first. */
  listQueue(): Promise<QueueEntry[]>;
  /** Deletes messages all of whose recipients reached delivered or bounced before `before` (ms); returns their ids. */
  purgeDone(before: number): Promise<string[]>;
  /** Whether a message is unknown, still has recipients to deliver, or is done. */
  messageState(id: string): Promise<'absent' | 'pending' | 'done'>;
  /** Records verdicts of messages that were not queued (refused at end of DATA). */
  recordVerdicts(rows: readonly VerdictRow[]): Promise<void>;
  /** Verdicts, newest first. */
  listVerdicts(filter?: VerdictFilter): Promise<VerdictRow[]>;
  /** Adds a key; the first key of a domain is active at once, later ones pending (rotation). Returns the stored entry. */
  addDkimKey(key: Omit<DkimKeyEntry, 'state'>): Promise<DkimKeyEntry>;
  /** Keys of one domain, or all. */
  listDkimKeys(domain?: string): Promise<DkimKeyEntry[]>;
  /** The quarantine index, newest first; by default only held entries. */
  listQuarantine(filter?: { state?: QuarantineEntry['state'] | 'all'; limit?: number }): Promise<QuarantineEntry[]>;
  getQuarantine(id: string): Promise<QuarantineEntry | null>;
  /** Marks an entry released or deleted; false when it was not held. */
  setQuarantineState(id: string, state: 'released' | 'deleted', at: number): Promise<boolean>;
  /** Small persistent settings (the domains given with --domain, for later commands on the same DATA). */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /** Stores a parsed aggregate report with its raw bytes; the same org + report id again changes nothing. */
  storeAggregateReport(report: AggregateReport, raw: Buffer, source: ReportSource, warnings?: readonly unknown[]): Promise<'stored' | 'duplicate'>;
  /** Stores a parsed TLS report with its raw bytes; the same org + report id again changes nothing. */
  storeTlsReport(report: TlsReport, raw: Buffer, source: ReportSource, warnings?: readonly unknown[]): Promise<'stored' | 'duplicate'>;
  /**
   * Runs `work` with a view of this store whose writes share one transaction, committed durably
   * (one fsync) when `work` resolves and rolled back if it throws. Each write of the view (a
   * report, a rejected input) is atomic on its own (a savepoint): one that fails is undone
   * alone, and idempotence holds within the batch (the same org + report id twice is a
   * duplicate). For report intake in bulk; queue writes do not belong in it.
   */
  batch<T>(work: (store: Store) => Promise<T>): Promise<T>;
  /** Stores a parsed failure report with its raw bytes; the same reporter + report id again changes nothing. */
  storeFailureReport(report: FailureReport, raw: Buffer, source: ReportSource, warnings?: readonly unknown[]): Promise<'stored' | 'duplicate'>;
  /** Stored reports, newest period first. */
  listReports(filter?: ReportFilter): Promise<ReportSummary[]>;
  /** One report with its records, or null. */
  getReport(id: string): Promise<StoredReport | null>;
  /** Notes an input that was not stored as a report, and why. */
  recordRejectedInput(input: Omit<RejectedInput, 'id'> & { id?: string }): Promise<void>;
  /** Rejected inputs, newest first. */
  listRejectedInputs(filter?: { limit?: number }): Promise<RejectedInput[]>;
  /** Counts successful outbound transactions per local address (`at` in ms); the same address again adds to its count. */
  recordOutboundSources(sources: readonly { ip: string; at: number }[]): Promise<void>;
  /** Addresses Kagami delivered from, most recently used first. */
  listOutboundSources(): Promise<OutboundSource[]>;
  /** Cached reverse-DNS answers for these addresses that have not expired at `now` (ms). */
  getCachedPtrs(ips: readonly string[], now: number): Promise<PtrCacheEntry[]>;
  /** Stores reverse-DNS answers, replacing earlier ones for the same addresses. */
  putCachedPtrs(entries: readonly PtrCacheEntry[]): Promise<void>;
  close(): Promise<void>;
}
