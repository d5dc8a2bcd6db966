/**
 * Schema migrations, in order. Written in Kysely's schema builder so the same steps run on SQLite
 * and PostgreSQL. Never edit a migration that has shipped; add the next one.
 */
import type { Kysely } from 'kysely';
import type { Migration, MigrationProvider } from 'kysely/migration';

const migrations: Record<string, Migration> = {
  '0001_queue': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('messages')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('mail_from', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('client_ip', 'text', (c) => c.notNull())
        .addColumn('helo', 'text', (c) => c.notNull())
        .addColumn('trace_headers', 'text', (c) => c.notNull())
        .addColumn('done_at', 'bigint')
        .execute();
      await db.schema
        .createTable('recipients')
        .addColumn('message_id', 'text', (c) => c.notNull().references('messages.id').onDelete('cascade'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('mailbox', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('recipients_pk', ['message_id', 'idx'])
        .execute();
      // The worker's question: which pending recipients are due?
      await db.schema
        .createIndex('recipients_due')
        .on('recipients')
        .columns(['state', 'next_attempt_at'])
        .execute();
      await db.schema.createIndex('messages_done').on('messages').column('done_at').execute();
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();

    },
  },
  '0002_verdicts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('verdicts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('queue_id', 'text')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('client_ip', 'text', (c) => c.notNull())
        .addColumn('ptr', 'text')
        .addColumn('helo', 'text', (c) => c.notNull())
        .addColumn('mail_from', 'text', (c) => c.notNull())
        .addColumn('header_from', 'text')
        .addColumn('from_domain', 'text')
        .addColumn('recipients', 'text', (c) => c.notNull())
        .addColumn('spf_result', 'text', (c) => c.notNull())
        .addColumn('dkim_result', 'text', (c) => c.notNull())
        .addColumn('arc_result', 'text', (c) => c.notNull())
        .addColumn('dmarc_result', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('verdicts_at').on('verdicts').column('at').execute();
      await db.schema.createIndex('verdicts_from_domain').on('verdicts').columns(['from_domain', 'at']).execute();
    },
  },
  '0003_dkim_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('dkim_keys')
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('selector', 'text', (c) => c.notNull())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dkim_keys_pk', ['domain', 'selector'])
        .execute();
    },
  },
  '0004_spool_complete': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('messages').addColumn('spool_complete', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  '0005_quarantine': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('recipients').addColumn('folder', 'text').execute();
      await db.schema
        .createTable('quarantine')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('queue_id', 'text', (c) => c.notNull())
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('mailbox', 'text', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('mail_from', 'text', (c) => c.notNull())
        .addColumn('header_from', 'text')
        .addColumn('from_domain', 'text')
        .addColumn('subject', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('changed_at', 'bigint')
        .execute();
      await db.schema.createIndex('quarantine_state_at').on('quarantine').columns(['state', 'at']).execute();
    },
  },
  '0006_reports': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('reports')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('org', 'text', (c) => c.notNull())
        .addColumn('report_id', 'text', (c) => c.notNull())
        .addColumn('domain', 'text', (c) => c.notNull())
        .addColumn('begin', 'bigint', (c) => c.notNull())
        .addColumn('end', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('raw', 'blob', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('warnings', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('reports_domain_begin').on('reports').columns(['domain', 'begin']).execute();
      await db.schema.createIndex('reports_begin').on('reports').column('begin').execute();
      await db.schema
        .createTable('report_records')
        .addColumn('report', 'text', (c) => c.notNull().references('reports.id').onDelete('cascade'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('source_ip', 'text', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .addColumn('disposition', 'text')
        .addColumn('dkim_aligned', 'text')
        .addColumn('spf_aligned', 'text')
        .addColumn('header_from', 'text', (c) => c.notNull())
        .addColumn('envelope_from', 'text')
        .addColumn('dkim', 'text', (c) => c.notNull())
        .addColumn('spf', 'text', (c) => c.notNull())
        .addColumn('overrides', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('report_records_pk', ['report', 'idx'])
        .execute();
      await db.schema
        .createTable('tls_policies')
        .addColumn('report', 'text', (c) => c.notNull().references('reports.id').onDelete('cascade'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('policy_type', 'text', (c) => c.notNull())
        .addColumn('policy_domain', 'text', (c) => c.notNull())
        .addColumn('successful', 'bigint', (c) => c.notNull())
        .addColumn('failed', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tls_policies_pk', ['report', 'idx'])
        .execute();
      await db.schema
        .createTable('tls_failures')
        .addColumn('report', 'text', (c) => c.notNull().references('reports.id').onDelete('cascade'))
        .addColumn('idx', 'integer', (c) => c.notNull())
        .addColumn('policy_domain', 'text', (c) => c.notNull())
        .addColumn('result_type', 'text', (c) => c.notNull())
        .addColumn('sending_ip', 'text')
        .addColumn('receiving_mx', 'text')
        .addColumn('receiving_ip', 'text')
        .addColumn('failed_count', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('tls_failures_pk', ['report', 'idx'])
        .execute();
      await db.schema
        .createTable('rejected_inputs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rejected_inputs_at').on('rejected_inputs').column('at').execute();
    },
  },
  '0007_failure_reports': {
    async up(db: Kysely<unknown>) {
      // One row per DMARC failure report (RFC 9991): each describes one message. The report row
      // itself (kind 'failure') lives in reports, so listing, deduplication and the raw input are shared.
      await db.schema
        .createTable('failure_reports')
        .addColumn('report', 'text', (c) => c.primaryKey().references('reports.id').onDelete('cascade'))
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('auth_failure', 'text')
        .addColumn('source_ip', 'text')
        .addColumn('arrival_date', 'bigint')
        .addColumn('original_mail_from', 'text')
        .addColumn('original_rcpt_to', 'text', (c) => c.notNull())
        .addColumn('header_from', 'text')
        .addColumn('subject', 'text')
        .addColumn('identity_alignment', 'text')
        .addColumn('dkim_domain', 'text')
        .addColumn('dkim_selector', 'text')
        .addColumn('delivery_result', 'text')
        .addColumn('authentication_results', 'text')
        .addColumn('original_headers', 'text')
        .execute();
      await db.schema.createIndex('failure_reports_source_ip').on('failure_reports').column('source_ip').execute();
    },
  },
  '0008_outbound_sources': {
    async up(db: Kysely<unknown>) {
      // The local addresses of Kagami's own successful outbound SMTP transactions: the source
      // IPs receivers see, which `kagami sources` classes "ours".
      await db.schema
        .createTable('outbound_sources')
        .addColumn('ip', 'text', (c) => c.primaryKey())
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .addColumn('count', 'bigint', (c) => c.notNull())
        .execute();
      // Reverse DNS of report source IPs, kept until `expires` (from the answer's TTL); ptr null
      // is a cached NXDOMAIN/NODATA. Temporary failures are never stored.
      await db.schema
        .createTable('ptr_cache')
        .addColumn('ip', 'text', (c) => c.primaryKey())
        .addColumn('ptr', 'text')
        .addColumn('confirmed', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('fetched_at', 'bigint', (c) => c.notNull())
        .addColumn('expires', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
