/**
 * The Store over Kysely: one set of queries for SQLite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { AggregateReport } from '../reports/model/aggregate.js';
import type { TlsReport } from '../reports/model/tlsrpt.js';
import type { FailureReport } from '../reports/model/failure.js';
import { Migrator } from 'kysely/migration';
import { migrationProvider } from './migrations/index.js';
import type { Selectable } from 'kysely';
import type { Database, QuarantineTable } from './schema.js';
import type {
  DeliveryOutcome,
  NewMessage,
  PendingDelivery,
  QueueEntry,
  RecipientState,
  Route,
  Store,
  DkimKeyEntry,
  QuarantineEntry,
  VerdictFilter,
  VerdictRow,
  OutboundSource,
  PtrCacheEntry,
  RejectedInput,
  ReportFilter,
  ReportSource,
  ReportSummary,
  StoredReport,
} from './types.js';

const PENDING: RecipientState[] = ['queued', 'deferred'];
/** Multi-row INSERT texts by dialect, table, row count and suffix (see insertSql). */
const insertTexts = new Map<string, string>();
/** The savepoint of one unit of work inside Store.batch() (same text in both dialects). */
const SAVEPOINT = CompiledQuery.raw('savepoint unit');
const RELEASE = CompiledQuery.raw('release savepoint unit');
const ROLLBACK_TO = CompiledQuery.raw('rollback to savepoint unit');

/** PostgreSQL returns bigint as a string; SQLite as a number. */
const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
const iso = (ms: number): string => new Date(ms).toISOString();
/**
 * The raw report as kept for re-parsing. Level 3 (zlib's fast strategy) takes half the time of
 * the default 6 for about a tenth more bytes of report XML. On this thread: through the thread
 * pool, the stream machinery cost the event loop as much as compressing (bench/ingest).
 */
const gzipRaw = (raw: Buffer): Buffer => gzipSync(raw, { level: 3 });

export interface KyselyStoreOptions {
  dialect: 'sqlite' | 'postgres';
  /**
   * Makes commits so far durable. SQLite commits with synchronous=NORMAL (no fsync on the event
   * loop's thread) and this fsyncs the WAL file from the thread pool; PostgreSQL commits are
   * durable on their own and need none.
   */
  flushLog?: () => Promise<void>;
  /**
   * Set for the view batch() hands out: `db` is then the batch's transaction, and each unit of
   * work (one report) runs in a savepoint of it instead of a transaction of its own.
   */
  withinTransaction?: boolean;
}

export function createKyselyStore(db: Kysely<Database>, options: KyselyStoreOptions = { dialect: 'sqlite' }): Store {
  const dialect = options.dialect;

  /** A transaction whose commit is on disk when the promise resolves. */
  async function durableTransaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    if (options.withinTransaction) return savepoint(work);
    const result = await db.transaction().execute(work);
    await options.flushLog?.();
    return result;
  }
  /**
   * Within batch(): one unit of work commits or rolls back on its own, inside the batch. Units
   * run one after another even when callers overlap (two at once would nest their savepoints),
   * so a unit must not start another.
   */
  let lastUnit: Promise<unknown> = Promise.resolve();
  function savepoint<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    const run = lastUnit.then(() => unit(work));
    lastUnit = run.catch(() => undefined);
    return run;
  }

  async function unit<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    await db.executeQuery(SAVEPOINT);
    try {
      const result = await work(db);
      await db.executeQuery(RELEASE);
      return result;
    } catch (err) {
      await db.executeQuery(ROLLBACK_TO);
      await db.executeQuery(RELEASE);
      throw err;
    }
  }

  async function migrate(): Promise<void> {
    const migrator = new Migrator({ db, provider: migrationProvider });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
      throw new Error(`store migration ${failed} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async function enqueue(messages: readonly NewMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await durableTransaction(async (trx) => {
      await trx
        .insertInto('messages')
        .values(
          messages.map((m) => ({
            id: m.id,
            received_at: m.receivedAt,
            mail_from: m.mailFrom,
            size: m.size,
            client_ip: m.clientIp,
            helo: m.helo,
            trace_headers: m.traceHeaders,
            spool_complete: m.spoolComplete ? 1 : 0,
            done_at: null,
          })),
        )
        .execute();
      const rows = messages.flatMap((m) =>
        m.recipients.map((r, idx) => ({
          message_id: m.id,
          idx,
          address: r.address,
          route: r.route,
          mailbox: r.mailbox,
          folder: r.folder ?? null,
          state: 'queued',
          next_attempt_at: m.receivedAt,
          last_error: null,
          updated_at: m.receivedAt,
        })),
      );
      // SQLite caps bound parameters per statement; 9 columns × 100 rows stays far below it.
      for (let i = 0; i < rows.length; i += 100) {
        await trx.insertInto('recipients').values(rows.slice(i, i + 100)).execute();
      }
      const verdicts = messages.flatMap((m) => (m.verdict ? [m.verdict] : []));
      if (verdicts.length > 0) await insertVerdicts(trx, verdicts);
      const held = messages.flatMap((m) =>
        m.quarantine
          ? m.recipients.map((r, idx) => ({
              id: `${m.id}.${idx}`,
              queue_id: m.id,
              idx,
              address: r.address,
              mailbox: r.mailbox,
              route: r.route,
              at: m.receivedAt,
              mail_from: m.mailFrom,
              header_from: m.quarantine!.headerFrom,
              from_domain: m.quarantine!.fromDomain,
              subject: m.quarantine!.subject,
              reason: m.quarantine!.reason,
              state: 'held',
              changed_at: null,
            }))
          : [],
      );
      for (let i = 0; i < held.length; i += 50) await trx.insertInto('quarantine').values(held.slice(i, i + 50)).execute();
    });
  }

  async function insertVerdicts(trx: Kysely<Database>, rows: readonly VerdictRow[]): Promise<void> {
    const values = rows.map((v) => ({
      id: v.id,
      queue_id: v.queueId,
      at: v.at,
      client_ip: v.clientIp,
      ptr: v.ptr,
      helo: v.helo,
      mail_from: v.mailFrom,
      header_from: v.headerFrom,
      from_domain: v.fromDomain,
      recipients: JSON.stringify(v.recipients),
      spf_result: v.spfResult,
      dkim_result: v.dkimResult,
      arc_result: v.arcResult,
      dmarc_result: v.dmarcResult,
      action: v.action,
      detail: JSON.stringify(v.detail),
    }));
    for (let i = 0; i < values.length; i += 50) {
      await trx.insertInto('verdicts').values(values.slice(i, i + 50)).execute();
    }
  }

  async function recordVerdicts(rows: readonly VerdictRow[]): Promise<void> {
    if (rows.length === 0) return;
    await durableTransaction((trx) => insertVerdicts(trx, rows));
  }

  async function listVerdicts(filter: VerdictFilter = {}): Promise<VerdictRow[]> {
    let q = db.selectFrom('verdicts').selectAll();
    if (filter.fromDomain) q = q.where('from_domain', '=', filter.fromDomain.toLowerCase());
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.since !== undefined) q = q.where('at', '>=', filter.since);
    if (filter.until !== undefined) q = q.where('at', '<', filter.until);
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 1000).execute();
    return rows.map((r) => ({
      id: r.id,
      queueId: r.queue_id,
      at: num(r.at),
      clientIp: r.client_ip,
      ptr: r.ptr,
      helo: r.helo,
      mailFrom: r.mail_from,
      headerFrom: r.header_from,
      fromDomain: r.from_domain,
      recipients: JSON.parse(r.recipients) as string[],
      spfResult: r.spf_result,
      dkimResult: r.dkim_result,
      arcResult: r.arc_result,
      dmarcResult: r.dmarc_result,
      action: r.action,
      detail: JSON.parse(r.detail) as unknown,
    }));
  }

  async function dueDeliveries(now: number, limit: number): Promise<PendingDelivery[]> {
    const rows = await db
      .selectFrom('recipients as r')
      .innerJoin('messages as m', 'm.id', 'r.message_id')
      .select([
        'r.message_id',
        'r.idx',
        'r.address',
        'r.route',
        'r.mailbox',
        'r.folder',
        'r.attempts',
        'm.mail_from',
        'm.received_at',
        'm.trace_headers',
        'm.spool_complete',
        'm.size',
      ])
      .where('r.state', 'in', PENDING)
      .where('r.next_attempt_at', '<=', now)
      .orderBy('r.next_attempt_at')
      .orderBy('r.message_id')
      .orderBy('r.idx')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      messageId: r.message_id,
      idx: num(r.idx),
      address: r.address,
      route: r.route as Route,
      mailbox: r.mailbox,
      ...(r.folder ? { folder: r.folder } : {}),
      attempts: num(r.attempts),
      mailFrom: r.mail_from,
      receivedAt: num(r.received_at),
      traceHeaders: r.trace_headers,
      spoolComplete: num(r.spool_complete) === 1,
      size: num(r.size),
    }));
  }

  async function nextAttemptAt(): Promise<number | null> {
    const row = await db
      .selectFrom('recipients')
      .select((eb) => eb.fn.min('next_attempt_at').as('next'))
      .where('state', 'in', PENDING)
      .executeTakeFirst();
    return row?.next == null ? null : num(row.next);
  }

  /** A transaction whose commit may stay in memory until a later durable commit or checkpoint. */
  async function relaxedTransaction<T>(work: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    if (options.withinTransaction) return savepoint(work);
    if (dialect === 'postgres') {
      return db.transaction().execute(async (trx) => {
        await sql`SET LOCAL synchronous_commit = off`.execute(trx);
        return work(trx);
      });
    }
    return db.transaction().execute(work);
  }

  async function recordOutcomes(outcomes: readonly DeliveryOutcome[], commit: { durable?: boolean } = {}): Promise<string[]> {
    if (outcomes.length === 0) return [];
    const run = commit.durable === false ? relaxedTransaction : durableTransaction;
    return run(async (trx) => {
      for (const o of outcomes) {
        await trx
          .updateTable('recipients')
          .set((eb) => ({
            state: o.state,
            attempts: eb('attempts', '+', 1),
            next_attempt_at: o.state === 'deferred' ? o.nextAttemptAt : null,
            last_error: o.state === 'delivered' ? null : o.error,
            updated_at: o.at,
          }))
          .where('message_id', '=', o.messageId)
          .where('idx', '=', o.idx)
          .execute();
      }
      const ids = [...new Set(outcomes.map((o) => o.messageId))];
      const stillPending = await trx
        .selectFrom('recipients')
        .select('message_id')
        .distinct()
        .where('message_id', 'in', ids)
        .where('state', 'in', PENDING)
        .execute();
      const pending = new Set(stillPending.map((r) => r.message_id));
      const done = ids.filter((id) => !pending.has(id));
      if (done.length > 0) {
        const at = Math.max(...outcomes.map((o) => o.at));
        await trx.updateTable('messages').set({ done_at: at }).where('id', 'in', done).execute();
      }
      return done;
    });
  }

  async function listQueue(): Promise<QueueEntry[]> {
    const messages = await db.selectFrom('messages').selectAll().orderBy('received_at').orderBy('id').execute();
    const recipients = await db.selectFrom('recipients').selectAll().orderBy('message_id').orderBy('idx').execute();
    const byMessage = new Map<string, QueueEntry['recipients']>();
    for (const r of recipients) {
      const list = byMessage.get(r.message_id) ?? [];
      list.push({
        address: r.address,
        state: r.state as RecipientState,
        attempts: num(r.attempts),
        nextAttemptAt: r.next_attempt_at == null ? null : iso(num(r.next_attempt_at)),
        lastError: r.last_error,
      });
      byMessage.set(r.message_id, list);
    }
    return messages.map((m) => ({
      id: m.id,
      receivedAt: iso(num(m.received_at)),
      from: m.mail_from,
      size: num(m.size),
      recipients: byMessage.get(m.id) ?? [],
    }));
  }

  async function purgeDone(before: number): Promise<string[]> {
    return db.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('messages').select('id').where('done_at', '<', before).execute();
      const ids = rows.map((r) => r.id);
      for (let i = 0; i < ids.length; i += 500) {
        const chunk = ids.slice(i, i + 500);
        await trx.deleteFrom('recipients').where('message_id', 'in', chunk).execute();
        await trx.deleteFrom('messages').where('id', 'in', chunk).execute();
      }
      return ids;
    });
  }

  async function messageState(id: string): Promise<'absent' | 'pending' | 'done'> {
    const row = await db.selectFrom('messages').select('done_at').where('id', '=', id).executeTakeFirst();
    if (!row) return 'absent';
    return row.done_at == null ? 'pending' : 'done';
  }

  async function addDkimKey(key: Omit<DkimKeyEntry, 'state'>): Promise<DkimKeyEntry> {
    return durableTransaction(async (trx) => {
      const active = await trx
        .selectFrom('dkim_keys')
        .select('selector')
        .where('domain', '=', key.domain)
        .where('state', '=', 'active')
        .executeTakeFirst();
      const entry: DkimKeyEntry = { ...key, state: active ? 'pending' : 'active' };
      await trx
        .insertInto('dkim_keys')
        .values({ domain: entry.domain, selector: entry.selector, algorithm: entry.algorithm, state: entry.state, created_at: entry.createdAt })
        .execute();
      return entry;
    });
  }

  async function listDkimKeys(domain?: string): Promise<DkimKeyEntry[]> {
    let q = db.selectFrom('dkim_keys').selectAll();
    if (domain) q = q.where('domain', '=', domain);
    const rows = await q.orderBy('domain').orderBy('created_at').orderBy('selector').execute();
    return rows.map((r) => ({
      domain: r.domain,
      selector: r.selector,
      algorithm: r.algorithm as DkimKeyEntry['algorithm'],
      state: r.state as DkimKeyEntry['state'],
      createdAt: num(r.created_at),
    }));
  }

  function quarantineEntry(r: Selectable<QuarantineTable>): QuarantineEntry {
    return {
      id: r.id,
      queueId: r.queue_id,
      idx: num(r.idx),
      address: r.address,
      mailbox: r.mailbox,
      route: r.route as Route,
      at: num(r.at),
      mailFrom: r.mail_from,
      headerFrom: r.header_from,
      fromDomain: r.from_domain,
      subject: r.subject,
      reason: r.reason,
      state: r.state as QuarantineEntry['state'],
      changedAt: r.changed_at == null ? null : num(r.changed_at),
    };
  }

  async function listQuarantine(filter: { state?: QuarantineEntry['state'] | 'all'; limit?: number } = {}): Promise<QuarantineEntry[]> {
    let q = db.selectFrom('quarantine').selectAll();
    const state = filter.state ?? 'held';
    if (state !== 'all') q = q.where('state', '=', state);
    const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 1000).execute();
    return rows.map(quarantineEntry);
  }

  async function getQuarantine(id: string): Promise<QuarantineEntry | null> {
    const row = await db.selectFrom('quarantine').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? quarantineEntry(row) : null;
  }

  async function setQuarantineState(id: string, state: 'released' | 'deleted', at: number): Promise<boolean> {
    return durableTransaction(async (trx) => {
      const r = await trx
        .updateTable('quarantine')
        .set({ state, changed_at: at })
        .where('id', '=', id)
        .where('state', '=', 'held')
        .executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    });
  }

  async function getSetting(key: string): Promise<string | null> {
    const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value ?? null;
  }

  async function setSetting(key: string, value: string): Promise<void> {
    await durableTransaction((trx) =>
      trx
        .insertInto('settings')
        .values({ key, value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute(),
    );
  }

  async function close(): Promise<void> {
    await db.destroy();
  }

  /** The view batch() hands out: its writes go to one transaction, each in a savepoint. */
  async function batch<T>(work: (store: Store) => Promise<T>): Promise<T> {
    if (options.withinTransaction) return work(createKyselyStore(db, options));
    return durableTransaction((trx) => work(createKyselyStore(trx, { dialect, withinTransaction: true })));
  }

  const REPORT_COLUMNS = ['id', 'kind', 'org', 'report_id', 'domain', 'begin', 'end', 'received_at', 'source', 'raw', 'policy', 'warnings'] as const satisfies readonly (keyof Database['reports'])[];
  const RECORD_COLUMNS = [
    'report', 'idx', 'source_ip', 'count', 'disposition', 'dkim_aligned', 'spf_aligned', 'header_from', 'envelope_from', 'dkim', 'spf', 'overrides',
  ] as const satisfies readonly (keyof Database['report_records'])[];

  /** Inserts the report row unless its id exists; true when inserted. */
  async function insertReportRow(trx: Kysely<Database>, row: Database['reports']): Promise<boolean> {
    const r = await trx.insertInto('reports').values(row).onConflict((oc) => oc.column('id').doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async function insertChunked<T extends 'report_records' | 'tls_policies' | 'tls_failures'>(
    trx: Kysely<Database>,
    table: T,
    values: Database[T][],
  ): Promise<void> {
    for (let i = 0; i < values.length; i += 50) {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      await trx.insertInto(table).values(values.slice(i, i + 50) as any).execute();
    }
  }

  async function storeAggregateReport(
    report: AggregateReport,
    raw: Buffer,
    source: ReportSource,
    warnings: readonly unknown[] = [],
  ): Promise<'stored' | 'duplicate'> {
    const id = `${report.metadata.orgName}!${report.metadata.reportId}`;
    const packed = gzipRaw(raw);
    const policy = JSON.stringify({ schema: report.schema, version: report.version ?? null, metadata: report.metadata, published: report.policy });
    // In REPORT_COLUMNS order.
    const row = [id, 'aggregate', report.metadata.orgName, report.metadata.reportId, report.policy.domain.toLowerCase(), report.metadata.begin, report.metadata.end, Date.now(), source, packed, policy, JSON.stringify(warnings)];
    return durableTransaction(async (trx) => {
      const r = await trx.executeQuery(CompiledQuery.raw(insertSql('reports', REPORT_COLUMNS, 1, ' on conflict ("id") do nothing'), row));
      if (Number(r.numAffectedRows ?? 0n) !== 1) return 'duplicate';
      for (let i = 0; i < report.records.length; i += 50) {
        const chunk = report.records.slice(i, i + 50);
        const params: unknown[] = [];
        chunk.forEach((x, k) => {
          // In RECORD_COLUMNS order.
          params.push(id, i + k, x.sourceIp, x.count, x.disposition ?? null, x.dkim ?? null, x.spf ?? null, x.headerFrom, x.envelopeFrom ?? null,
            JSON.stringify(x.dkimResults), JSON.stringify(x.spfResults), JSON.stringify(x.reasons));
        });
        await trx.executeQuery(CompiledQuery.raw(insertSql('report_records', RECORD_COLUMNS, chunk.length), params));
      }
      return 'stored';
    });
  }

  /**
   * The text of a multi-row INSERT, built once per dialect, table and row count (at most 50 per
   * table): Kysely's builder parses and compiles every value of every insert anew, which was a
   * tenth of a bulk import's time (bench/ingest). Identifiers are quoted as both dialects read them.
   */
  function insertSql(table: keyof Database, columns: readonly string[], rows: number, suffix = ''): string {
    const key = `${dialect}\0${table}\0${rows}\0${suffix}`;
    let text = insertTexts.get(key);
    if (text === undefined) {
      let n = 0;
      const tuple = () => `(${columns.map(() => (dialect === 'postgres' ? `$${++n}` : '?')).join(', ')})`;
      text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${Array.from({ length: rows }, tuple).join(', ')}${suffix}`;
      insertTexts.set(key, text);
    }
    return text;
  }

  /**
   * The report row and, when its id is new, its child rows, as one unit of work; the same id
   * again is a duplicate and writes nothing. (Aggregate reports, the bulk of an import, take the
   * prepared-insert path of storeAggregateReport instead.)
   */
  function storeReport(
    row: Omit<Database['reports'], 'received_at' | 'source' | 'raw' | 'warnings'>,
    raw: Buffer,
    source: ReportSource,
    warnings: readonly unknown[],
    children: (trx: Kysely<Database>) => Promise<unknown>,
  ): Promise<'stored' | 'duplicate'> {
    return durableTransaction(async (trx) => {
      const inserted = await insertReportRow(trx, { ...row, received_at: Date.now(), source, raw: gzipRaw(raw), warnings: JSON.stringify(warnings) });
      if (!inserted) return 'duplicate';
      await children(trx);
      return 'stored';
    });
  }

  function storeTlsReport(report: TlsReport, raw: Buffer, source: ReportSource, warnings: readonly unknown[] = []): Promise<'stored' | 'duplicate'> {
    const id = `${report.organizationName}!${report.reportId}`;
    const row = {
      id,
      kind: 'tls',
      org: report.organizationName,
      report_id: report.reportId,
      domain: (report.policies[0]?.policyDomain ?? '').toLowerCase(),
      begin: report.begin,
      end: report.end,
      policy: JSON.stringify({
        contactInfo: report.contactInfo,
        policies: report.policies.map((p) => ({ policyType: p.policyType, policyDomain: p.policyDomain, policyString: p.policyString, mxHost: p.mxHost })),
      }),
    };
    return storeReport(row, raw, source, warnings, async (trx) => {
      await insertChunked(
        trx,
        'tls_policies',
        report.policies.map((p, idx) => ({
          report: id,
          idx,
          policy_type: p.policyType,
          policy_domain: p.policyDomain.toLowerCase(),
          successful: p.successfulSessions,
          failed: p.failedSessions,
        })),
      );
      await insertChunked(
        trx,
        'tls_failures',
        report.policies.flatMap((p) =>
          p.failureDetails.map((f) => ({
            policy_domain: p.policyDomain.toLowerCase(),
            result_type: f.resultType,
            sending_ip: f.sendingMtaIp,
            receiving_mx: f.receivingMxHostname,
            receiving_ip: f.receivingIp,
            failed_count: f.failedSessionCount,
          })),
        ).map((f, idx) => ({ report: id, idx, ...f })),
      );
    });
  }

  function storeFailureReport(report: FailureReport, raw: Buffer, source: ReportSource, warnings: readonly unknown[] = []): Promise<'stored' | 'duplicate'> {
    const id = `${report.reporter}!${report.reportId}`;
    // A failure report covers one moment: when the failed message arrived, else when the report was written.
    const at = report.arrivalDate ?? report.reportedAt ?? Math.floor(Date.now() / 1000);
    const row = { id, kind: 'failure', org: report.reporter, report_id: report.reportId, domain: report.reportedDomain, begin: at, end: at, policy: JSON.stringify(report) };
    return storeReport(row, raw, source, warnings, (trx) =>
      trx
        .insertInto('failure_reports')
        .values({
          report: id,
          format: report.format,
          auth_failure: report.authFailure,
          source_ip: report.sourceIp,
          arrival_date: report.arrivalDate,
          original_mail_from: report.originalMailFrom,
          original_rcpt_to: JSON.stringify(report.originalRcptTo),
          header_from: report.original?.from ?? null,
          subject: report.original?.subject ?? null,
          identity_alignment: report.identityAlignment,
          dkim_domain: report.dkimDomain,
          dkim_selector: report.dkimSelector,
          delivery_result: report.deliveryResult,
          authentication_results: report.authenticationResults,
          original_headers: report.original?.headers ?? null,
        })
        .execute(),
    );
  }

  async function summaries(rows: Array<Omit<Database['reports'], 'raw' | 'policy' | 'warnings'>>): Promise<ReportSummary[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const agg = new Map<string, { records: number; messages: number; failed: number }>();
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const recs = await db
        .selectFrom('report_records')
        .select(['report', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('count').as('messages')])
        .where('report', 'in', chunk)
        .groupBy('report')
        .execute();
      for (const r of recs) agg.set(r.report, { records: num(r.n), messages: num(r.messages), failed: 0 });
      const tls = await db
        .selectFrom('tls_policies')
        .select(['report', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('successful').as('ok'), (eb) => eb.fn.sum<number>('failed').as('failed')])
        .where('report', 'in', chunk)
        .groupBy('report')
        .execute();
      for (const r of tls) agg.set(r.report, { records: num(r.n), messages: num(r.ok) + num(r.failed), failed: num(r.failed) });
    }
    return rows.map((r) => {
      const a = r.kind === 'failure' ? { records: 1, messages: 1, failed: 1 } : (agg.get(r.id) ?? { records: 0, messages: 0, failed: 0 });
      return {
        id: r.id,
        kind: r.kind as ReportSummary['kind'],
        org: r.org,
        reportId: r.report_id,
        domain: r.domain,
        begin: num(r.begin),
        end: num(r.end),
        receivedAt: num(r.received_at),
        source: r.source as ReportSource,
        ...a,
      };
    });
  }

  const SUMMARY_COLUMNS = ['id', 'kind', 'org', 'report_id', 'domain', 'begin', 'end', 'received_at', 'source'] as const;

  async function listReports(filter: ReportFilter = {}): Promise<ReportSummary[]> {
    let q = db.selectFrom('reports').select(SUMMARY_COLUMNS);
    if (filter.domain) q = q.where('domain', '=', filter.domain.toLowerCase());
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    if (filter.since !== undefined) q = q.where('end', '>=', Math.floor(filter.since / 1000));
    if (filter.until !== undefined) q = q.where('begin', '<', Math.ceil(filter.until / 1000));
    const rows = await q.orderBy('begin', 'desc').orderBy('id').limit(filter.limit ?? 1000).execute();
    return summaries(rows);
  }

  async function getReport(id: string): Promise<StoredReport | null> {
    const row = await db.selectFrom('reports').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return null;
    const [summary] = await summaries([row]);
    const records = await db.selectFrom('report_records').selectAll().where('report', '=', id).orderBy('idx').execute();
    const policies = await db.selectFrom('tls_policies').selectAll().where('report', '=', id).orderBy('idx').execute();
    const failures = await db.selectFrom('tls_failures').selectAll().where('report', '=', id).orderBy('idx').execute();
    const failure = await db.selectFrom('failure_reports').selectAll().where('report', '=', id).executeTakeFirst();
    return {
      ...summary!,
      policy: JSON.parse(row.policy) as unknown,
      warnings: JSON.parse(row.warnings) as unknown[],
      aggregateRecords: records.map((r) => ({
        sourceIp: r.source_ip,
        count: num(r.count),
        disposition: r.disposition,
        dkimAligned: r.dkim_aligned,
        spfAligned: r.spf_aligned,
        headerFrom: r.header_from,
        envelopeFrom: r.envelope_from,
        dkim: JSON.parse(r.dkim) as unknown[],
        spf: JSON.parse(r.spf) as unknown[],
        overrides: JSON.parse(r.overrides) as unknown[],
      })),
      tlsPolicies: policies.map((p) => ({ policyType: p.policy_type, policyDomain: p.policy_domain, successful: num(p.successful), failed: num(p.failed) })),
      tlsFailures: failures.map((f) => ({
        policyDomain: f.policy_domain,
        resultType: f.result_type,
        sendingIp: f.sending_ip,
        receivingMx: f.receiving_mx,
        receivingIp: f.receiving_ip,
        failedCount: num(f.failed_count),
      })),
      failure: failure
        ? {
            format: failure.format,
            authFailure: failure.auth_failure,
            sourceIp: failure.source_ip,
            arrivalDate: failure.arrival_date === null ? null : num(failure.arrival_date),
            originalMailFrom: failure.original_mail_from,
            originalRcptTo: JSON.parse(failure.original_rcpt_to) as string[],
            headerFrom: failure.header_from,
            subject: failure.subject,
            identityAlignment: failure.identity_alignment,
            dkimDomain: failure.dkim_domain,
            dkimSelector: failure.dkim_selector,
            deliveryResult: failure.delivery_result,
            authenticationResults: failure.authentication_results,
            originalHeaders: failure.original_headers,
          }
        : null,
    };
  }

  async function recordRejectedInput(input: Omit<RejectedInput, 'id'> & { id?: string }): Promise<void> {
    await durableTransaction((trx) =>
      trx
        .insertInto('rejected_inputs')
        .values({ id: input.id ?? randomUUID(), at: input.at, source: input.source, name: input.name, code: input.code, reason: input.reason, size: input.size })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute(),
    );
  }

  async function listRejectedInputs(filter: { limit?: number } = {}): Promise<RejectedInput[]> {
    const rows = await db.selectFrom('rejected_inputs').selectAll().orderBy('at', 'desc').orderBy('name').limit(filter.limit ?? 1000).execute();
    return rows.map((r) => ({ id: r.id, at: num(r.at), source: r.source as ReportSource, name: r.name, code: r.code, reason: r.reason, size: num(r.size) }));
  }

  async function recordOutboundSources(sources: readonly { ip: string; at: number }[]): Promise<void> {
    // One row per address; several transactions in one call fold into one upsert.
    const byIp = new Map<string, { first: number; last: number; count: number }>();
    for (const { ip, at } of sources) {
      const e = byIp.get(ip);
      if (e) byIp.set(ip, { first: Math.min(e.first, at), last: Math.max(e.last, at), count: e.count + 1 });
      else byIp.set(ip, { first: at, last: at, count: 1 });
    }
    if (byIp.size === 0) return;
    // A lost row only delays an address's "ours" class until the next delivery: no fsync wait.
    await db
      .insertInto('outbound_sources')
      .values([...byIp].map(([ip, e]) => ({ ip, first_seen: e.first, last_seen: e.last, count: e.count })))
      .onConflict((oc) =>
        oc.column('ip').doUpdateSet({
          first_seen: sql<number>`case when excluded.first_seen < outbound_sources.first_seen then excluded.first_seen else outbound_sources.first_seen end`,
          last_seen: sql<number>`case when excluded.last_seen > outbound_sources.last_seen then excluded.last_seen else outbound_sources.last_seen end`,
          count: sql<number>`outbound_sources.count + excluded.count`,
        }),
      )
      .execute();
  }

  async function listOutboundSources(): Promise<OutboundSource[]> {
    const rows = await db.selectFrom('outbound_sources').selectAll().orderBy('last_seen', 'desc').orderBy('ip').execute();
    return rows.map((r) => ({ ip: r.ip, firstSeen: num(r.first_seen), lastSeen: num(r.last_seen), count: num(r.count) }));
  }

  async function getCachedPtrs(ips: readonly string[], now: number): Promise<PtrCacheEntry[]> {
    const out: PtrCacheEntry[] = [];
    const unique = [...new Set(ips)];
    // Chunks keep the IN list under SQLite's bound-parameter limit.
    for (let i = 0; i < unique.length; i += 500) {
      const rows = await db.selectFrom('ptr_cache').selectAll().where('ip', 'in', unique.slice(i, i + 500)).where('expires', '>', now).execute();
      for (const r of rows) out.push({ ip: r.ip, ptr: r.ptr, confirmed: num(r.confirmed) === 1, fetchedAt: num(r.fetched_at), expiresAt: num(r.expires) });
    }
    return out;
  }

  async function putCachedPtrs(entries: readonly PtrCacheEntry[]): Promise<void> {
    const last = new Map(entries.map((e) => [e.ip, e]));
    const rows = [...last.values()].map((e) => ({ ip: e.ip, ptr: e.ptr, confirmed: e.confirmed ? 1 : 0, fetched_at: e.fetchedAt, expires: e.expiresAt }));
    // A cache: losing the last writes costs a lookup, so no fsync wait.
    for (let i = 0; i < rows.length; i += 200) {
      await db
        .insertInto('ptr_cache')
        .values(rows.slice(i, i + 200))
        .onConflict((oc) =>
          oc.column('ip').doUpdateSet({
            ptr: sql<string | null>`excluded.ptr`,
            confirmed: sql<number>`excluded.confirmed`,
            fetched_at: sql<number>`excluded.fetched_at`,
            expires: sql<number>`excluded.expires`,
          }),
        )
        .execute();
    }
  }

  return {
    migrate,
    enqueue,
    dueDeliveries,
    nextAttemptAt,
    recordOutcomes,
    listQueue,
    purgeDone,
    messageState,
    recordVerdicts,
    listQuarantine,
    getQuarantine,
    setQuarantineState,
    addDkimKey,
    listDkimKeys,
    listVerdicts,
    getSetting,
    setSetting,
    storeAggregateReport,
    batch,
    storeTlsReport,
    storeFailureReport,
    listReports,
    getReport,
    recordRejectedInput,
    listRejectedInputs,
    recordOutboundSources,
    listOutboundSources,
    getCachedPtrs,
    putCachedPtrs,
    close,
  };
}
