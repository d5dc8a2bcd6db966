/** Table types as Kysely sees them; times are milliseconds since the epoch. */
import type { Generated } from 'kysely';

export interface MessagesTable {
  id: string;
  received_at: number;
  mail_from: string;
  size: number;
  client_ip: string;
  helo: string;
  trace_headers: string;
  /** 1 when the spool file already holds the message as delivered (trace fields included). */
  spool_complete: Generated<number>;
  /** Set when every recipient reached delivered or bounced. */
  done_at: number | null;
}

export interface RecipientsTable {
  message_id: string;
  idx: number;
  address: string;
  route: string;
  mailbox: string;
  state: string;
  /** Maildir++ folder ("Junk"), or null for INBOX. */
  folder: string | null;
  attempts: Generated<number>;
  next_attempt_at: number | null;
  last_error: string | null;
  updated_at: number;
}

export interface SettingsTable {
  key: string;
  value: string;
}

/** One row per message that reached end of DATA (accepted or refused): what was checked and decided. */
export interface VerdictsTable {
  id: string;
  queue_id: string | null;
  at: number;
  client_ip: string;
  ptr: string | null;
  helo: string;
  mail_from: string;
  header_from: string | null;
  from_domain: string | null;
  recipients: string;
  spf_result: string;
  dkim_result: string;
  arc_result: string;
  dmarc_result: string;
  action: string;
  /** The whole verdict as JSON (SPF, DKIM, ARC, DMARC evaluations with reasons). */
  detail: string;
}

/** DKIM signing keys in the key store (DATA/keys/<domain>/<selector>.pem). */
export interface DkimKeysTable {
  domain: string;
  selector: string;
  algorithm: string;
  /** active: used for signing; pending: published, waiting for rotation. */
  state: string;
  created_at: number;
}

/** The quarantine index: one row per quarantined message and recipient. */
export interface QuarantineTable {
  id: string;
  queue_id: string;
  idx: number;
  address: string;
  mailbox: string;
  route: string;
  at: number;
  mail_from: string;
  header_from: string | null;
  from_domain: string | null;
  subject: string | null;
  reason: string;
  state: string;
  changed_at: number | null;
}

/** Stored DMARC aggregate and TLS reports; id is "<reporter org>!<report id>". Times in seconds (begin, end) and ms (received_at). */
export interface ReportsTable {
  id: string;
  kind: string;
  org: string;
  report_id: string;
  domain: string;
  begin: number;
  end: number;
  received_at: number;
  source: string;
  /** The report as received (after unpacking), gzip-compressed. */
  raw: Buffer;
  policy: string;
  warnings: string;
}

export interface ReportRecordsTable {
  report: string;
  idx: number;
  source_ip: string;
  count: number;
  disposition: string | null;
  dkim_aligned: string | null;
  spf_aligned: string | null;
  header_from: string;
  envelope_from: string | null;
  dkim: string;
  spf: string;
  overrides: string;
}

export interface TlsPoliciesTable {
  report: string;
  idx: number;
  policy_type: string;
  policy_domain: string;
  successful: number;
  failed: number;
}

export interface TlsFailuresTable {
  report: string;
  idx: number;
  policy_domain: string;
  result_type: string;
  sending_ip: string | null;
  receiving_mx: string | null;
  receiving_ip: string | null;
  failed_count: number;
}

/** DMARC failure reports (RFC 9991): one row per report, each about one failed message. */
export interface FailureReportsTable {
  report: string;
  format: string;
  auth_failure: string | null;
  source_ip: string | null;
  /** Seconds since the epoch. */
  arrival_date: number | null;
  original_mail_from: string | null;
  /** JSON array of addresses. */
  original_rcpt_to: string;
  header_from: string | null;
  subject: string | null;
  identity_alignment: string | null;
  dkim_domain: string | null;
  dkim_selector: string | null;
  delivery_result: string | null;
  authentication_results: string | null;
  original_headers: string | null;
}

/** Inputs that were not stored as reports: what, when and why (a KGM- code). */
export interface RejectedInputsTable {
  id: string;
  at: number;
  source: string;
  name: string;
  code: string;
  reason: string;
  size: number;
}

/** Local addresses of Kagami's successful outbound SMTP transactions (migration 0008). */
export interface OutboundSourcesTable {
  ip: string;
  first_seen: number;
  last_seen: number;
  count: number;
}

/** Cached reverse DNS of report source IPs; ptr null = NXDOMAIN/NODATA (migration 0008). */
export interface PtrCacheTable {
  ip: string;
  ptr: string | null;
  /** 1 when the PTR name is forward-confirmed. */
  confirmed: number;
  fetched_at: number;
  expires: number;
}

export interface Database {
  outbound_sources: OutboundSourcesTable;
  ptr_cache: PtrCacheTable;
  reports: ReportsTable;
  report_records: ReportRecordsTable;
  tls_policies: TlsPoliciesTable;
  tls_failures: TlsFailuresTable;
  failure_reports: FailureReportsTable;
  rejected_inputs: RejectedInputsTable;
  quarantine: QuarantineTable;
  dkim_keys: DkimKeysTable;
  messages: MessagesTable;
  recipients: RecipientsTable;
  settings: SettingsTable;
  verdicts: VerdictsTable;
}
