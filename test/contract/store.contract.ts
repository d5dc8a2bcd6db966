/**
 * The contract every Store must keep: SQLite now, PostgreSQL later (same suite, another factory).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AggregateReport } from '../../src/reports/model/aggregate.js';
import type { TlsReport } from '../../src/reports/model/tlsrpt.js';
import type { NewMessage, Store, VerdictRow } from '../../src/store/types.js';

export function aggregateReport(reportId: string, begin: number, domain = 'example.org'): AggregateReport {
  return {
    schema: 'rfc7489',
    version: '1.0',
    metadata: { orgName: 'receiver.example', email: 'dmarc@receiver.example', reportId, begin, end: begin + 86_399, errors: [] },
    policy: { domain, p: 'reject', adkim: 'r', aspf: 'r' },
    records: [
      {
        sourceIp: '192.0.2.1',
        count: 3,
        disposition: 'none',
        dkim: 'pass',
        spf: 'fail',
        reasons: [],
        headerFrom: domain,
        envelopeFrom: domain,
        dkimResults: [{ domain, selector: 's1', result: 'pass' }],
        spfResults: [{ domain, scope: 'mfrom', result: 'fail' }],
      },
      {
        sourceIp: '2001:db8::1',
        count: 2,
        disposition: 'reject',
        dkim: 'fail',
        spf: 'fail',
        reasons: [{ type: 'local_policy', comment: 'x' }],
        headerFrom: domain,
        dkimResults: [],
        spfResults: [{ domain, result: 'softfail' }],
      },
    ],
  };
}

export function tlsReport(reportId: string, begin: number): TlsReport {
  return {
    organizationName: 'sender.example',
    begin,
    end: begin + 86_399,
    contactInfo: 'tls@sender.example',
    reportId,
    policies: [
      {
        policyType: 'sts',
        policyString: ['version: STSv1'],
        policyDomain: 'example.org',
        mxHost: ['mx.example.org'],
        successfulSessions: 10,
        failedSessions: 4,
        failureDetails: [
          { resultType: 'certificate-expired', sendingMtaIp: '192.0.2.9', receivingMxHostname: 'mx.example.org', receivingMxHelo: null, receivingIp: '198.51.100.1', failedSessionCount: 4, additionalInformation: null, failureReasonCode: null },
        ],
      },
    ],
  };
}

export function verdict(id: string, at: number, over: Partial<VerdictRow> = {}): VerdictRow {
  return {
    id,
    queueId: id,
    at,
    clientIp: '192.0.2.1',
    ptr: 'mail.example.org',
    helo: 'mail.example.org',
    mailFrom: 'bounce@example.org',
    headerFrom: 'Alice <alice@example.org>',
    fromDomain: 'example.org',
    recipients: ['a@example.test'],
    spfResult: 'pass',
    dkimResult: 'pass',
    arcResult: 'none',
    dmarcResult: 'pass',
    action: 'deliver',
    detail: { dmarc: { reason: 'SPF and DKIM aligned with example.org' } },
    ...over,
  };
}

export function message(id: string, receivedAt: number, rcpts = ['a@example.test']): NewMessage {
  return {
    id,
    receivedAt,
    mailFrom: 'sender@example.org',
    size: 1234,
    clientIp: '192.0.2.1',
    helo: 'client.example.org',
    traceHeaders: 'Received: from x\r\n',
    recipients: rcpts.map((address) => ({ address, route: 'maildir' as const, mailbox: `example.test/${address.split('@')[0]}` })),
  };
}

export function runStoreContract(name: string, make: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await make();
      await store.migrate();
    });
    afterEach(async () => store.close());

    it('migrates twice without harm', async () => {
      await store.migrate();
      expect(await store.listQueue()).toEqual([]);
    });

    it('enqueues a batch in one go and lists it oldest first', async () => {
      await store.enqueue([message('B', 2000), message('A', 1000, ['x@example.test', 'y@example.test'])]);
      const q = await store.listQueue();
      expect(q.map((m) => m.id)).toEqual(['A', 'B']);
      expect(q[0]).toEqual({
        id: 'A',
        receivedAt: new Date(1000).toISOString(),
        from: 'sender@example.org',
        size: 1234,
        recipients: [
          { address: 'x@example.test', state: 'queued', attempts: 0, nextAttemptAt: new Date(1000).toISOString(), lastError: null },
          { address: 'y@example.test', state: 'queued', attempts: 0, nextAttemptAt: new Date(1000).toISOString(), lastError: null },
        ],
      });
    });

    it('a failed batch commits nothing (duplicate id inside the transaction)', async () => {
      await store.enqueue([message('DUP', 1000)]);
      await expect(store.enqueue([message('NEW', 1000), message('DUP', 1000)])).rejects.toThrow();
      expect((await store.listQueue()).map((m) => m.id)).toEqual(['DUP']);
    });

    it('hands out due recipients with their message, and not future ones', async () => {
      await store.enqueue([message('M1', 1000, ['a@example.test', 'b@example.test'])]);
      const due = await store.dueDeliveries(1000, 10);
      expect(due).toHaveLength(2);
      expect(due[0]).toMatchObject({ messageId: 'M1', idx: 0, address: 'a@example.test', route: 'maildir', mailbox: 'example.test/a', attempts: 0, mailFrom: 'sender@example.org', receivedAt: 1000, size: 1234 });
      expect(await store.dueDeliveries(999, 10)).toEqual([]);
      expect(await store.dueDeliveries(5000, 1)).toHaveLength(1);
      expect(await store.nextAttemptAt()).toBe(1000);
    });

    it('records outcomes, reschedules deferrals and reports messages that are done', async () => {
      await store.enqueue([message('M2', 1000, ['a@example.test', 'b@example.test'])]);
      let done = await store.recordOutcomes([
        { messageId: 'M2', idx: 0, state: 'delivered', at: 1100 },
        { messageId: 'M2', idx: 1, state: 'deferred', at: 1100, nextAttemptAt: 61_100, error: '451 try later' },
      ]);
      expect(done).toEqual([]);
      expect(await store.messageState('M2')).toBe('pending');
      expect(await store.dueDeliveries(2000, 10)).toEqual([]);
      expect(await store.nextAttemptAt()).toBe(61_100);
      const [retry] = await store.dueDeliveries(61_100, 10);
      expect(retry).toMatchObject({ idx: 1, attempts: 1 });
      const listed = (await store.listQueue())[0]!.recipients;
      expect(listed[0]).toMatchObject({ state: 'delivered', attempts: 1, nextAttemptAt: null, lastError: null });
      expect(listed[1]).toMatchObject({ state: 'deferred', attempts: 1, nextAttemptAt: new Date(61_100).toISOString(), lastError: '451 try later' });
      done = await store.recordOutcomes([{ messageId: 'M2', idx: 1, state: 'bounced', at: 62_000, error: '550 no' }]);
      expect(done).toEqual(['M2']);
      expect(await store.messageState('M2')).toBe('done');
      expect(await store.nextAttemptAt()).toBeNull();
    });

    it('purges done messages older than the cut-off and keeps the rest', async () => {
      await store.enqueue([message('OLD', 1000), message('NEW', 1000), message('PENDING', 1000)]);
      await store.recordOutcomes([{ messageId: 'OLD', idx: 0, state: 'delivered', at: 2000 }]);
      await store.recordOutcomes([{ messageId: 'NEW', idx: 0, state: 'delivered', at: 9000 }]);
      expect(await store.purgeDone(5000)).toEqual(['OLD']);
      expect((await store.listQueue()).map((m) => m.id).sort()).toEqual(['NEW', 'PENDING']);
      expect(await store.messageState('OLD')).toBe('absent');
    });

    it('keeps settings', async () => {
      expect(await store.getSetting('domains')).toBeNull();
      await store.setSetting('domains', '["a.test"]');
      await store.setSetting('domains', '["b.test"]');
      expect(await store.getSetting('domains')).toBe('["b.test"]');
    });

    it('commits a verdict with its queue row, and filters verdicts by domain, action and time', async () => {
      await store.enqueue([{ ...message('V1', 1000), verdict: verdict('V1', 1000) }]);
      await store.recordVerdicts([
        verdict('R1', 2000, { queueId: null, action: 'reject', dmarcResult: 'fail', fromDomain: 'bank.example' }),
        verdict('R2', 3000, { queueId: null, action: 'reject', dmarcResult: 'fail', fromDomain: 'example.org' }),
      ]);
      const all = await store.listVerdicts();
      expect(all.map((v) => v.id)).toEqual(['R2', 'R1', 'V1']);
      expect(all[2]).toEqual(verdict('V1', 1000));
      expect((await store.listVerdicts({ fromDomain: 'Example.ORG' })).map((v) => v.id)).toEqual(['R2', 'V1']);
      expect((await store.listVerdicts({ action: 'reject' })).map((v) => v.id)).toEqual(['R2', 'R1']);
      expect((await store.listVerdicts({ since: 2000, until: 3000 })).map((v) => v.id)).toEqual(['R1']);
      expect((await store.listVerdicts({ limit: 1 })).map((v) => v.id)).toEqual(['R2']);
    });

    it('keeps DKIM keys: the first of a domain active, later ones pending; a duplicate selector is refused', async () => {
      const first = await store.addDkimKey({ domain: 'a.example', selector: 's1', algorithm: 'ed25519-sha256', createdAt: 1000 });
      const second = await store.addDkimKey({ domain: 'a.example', selector: 's2', algorithm: 'rsa-sha256', createdAt: 2000 });
      const other = await store.addDkimKey({ domain: 'b.example', selector: 's1', algorithm: 'rsa-sha256', createdAt: 3000 });
      expect([first.state, second.state, other.state]).toEqual(['active', 'pending', 'active']);
      await expect(store.addDkimKey({ domain: 'a.example', selector: 's1', algorithm: 'rsa-sha256', createdAt: 4000 })).rejects.toThrow();
      expect((await store.listDkimKeys('a.example')).map((k) => k.selector)).toEqual(['s1', 's2']);
      expect(await store.listDkimKeys()).toHaveLength(3);
    });

    it('stores an aggregate report once: the same org and report id again is a duplicate and changes nothing', async () => {
      const raw = Buffer.from('<feedback/>');
      expect(await store.storeAggregateReport(aggregateReport('R1', 1_700_000_000), raw, 'file', [{ path: 'x', message: 'y' }])).toBe('stored');
      expect(await store.storeAggregateReport(aggregateReport('R1', 1_700_000_000), raw, 'mail')).toBe('duplicate');
      const list = await store.listReports();
      expect(list).toHaveLength(1);
      expect(list[0]).toMatchObject({ id: 'receiver.example!R1', kind: 'aggregate', domain: 'example.org', source: 'file', records: 2, messages: 5 });
      const full = await store.getReport('receiver.example!R1');
      expect(full!.aggregateRecords).toHaveLength(2);
      expect(full!.aggregateRecords[0]).toEqual({
        sourceIp: '192.0.2.1', count: 3, disposition: 'none', dkimAligned: 'pass', spfAligned: 'fail', headerFrom: 'example.org', envelopeFrom: 'example.org',
        dkim: [{ domain: 'example.org', selector: 's1', result: 'pass' }], spf: [{ domain: 'example.org', scope: 'mfrom', result: 'fail' }], overrides: [],
      });
      expect(full!.aggregateRecords[1]!.overrides).toEqual([{ type: 'local_policy', comment: 'x' }]);
      expect(full!.warnings).toEqual([{ path: 'x', message: 'y' }]);
      expect(await store.getReport('nope!nope')).toBeNull();
    });

    it('stores a TLS report once with per-policy totals and failure details', async () => {
      expect(await store.storeTlsReport(tlsReport('T1', 1_700_000_000), Buffer.from('{}'), 'file')).toBe('stored');
      expect(await store.storeTlsReport(tlsReport('T1', 1_700_000_000), Buffer.from('{}'), 'file')).toBe('duplicate');
      const full = await store.getReport('sender.example!T1');
      expect(full).toMatchObject({ kind: 'tls', domain: 'example.org', messages: 14, failed: 4, records: 1 });
      expect(full!.tlsPolicies).toEqual([{ policyType: 'sts', policyDomain: 'example.org', successful: 10, failed: 4 }]);
      expect(full!.tlsFailures).toEqual([
        { policyDomain: 'example.org', resultType: 'certificate-expired', sendingIp: '192.0.2.9', receivingMx: 'mx.example.org', receivingIp: '198.51.100.1', failedCount: 4 },
      ]);
      expect(await store.listReports()).toHaveLength(1);
    });

    it('filters reports by domain, kind and period, newest first', async () => {
      await store.storeAggregateReport(aggregateReport('A', 1_000_000), Buffer.from('a'), 'file');
      await store.storeAggregateReport(aggregateReport('B', 2_000_000, 'Other.Example'), Buffer.from('b'), 'file');
      await store.storeTlsReport(tlsReport('C', 3_000_000), Buffer.from('c'), 'file');
      expect((await store.listReports()).map((r) => r.reportId)).toEqual(['C', 'B', 'A']);
      expect((await store.listReports({ domain: 'other.example' })).map((r) => r.reportId)).toEqual(['B']);
      expect((await store.listReports({ kind: 'aggregate' })).map((r) => r.reportId)).toEqual(['B', 'A']);
      expect((await store.listReports({ since: 2_000_000_000, until: 3_000_000_000 })).map((r) => r.reportId)).toEqual(['B']);
      expect((await store.listReports({ limit: 1 })).map((r) => r.reportId)).toEqual(['C']);
    });

    it('records rejected inputs; the same id twice is one row', async () => {
      const input = { id: 'X1', at: 1000, source: 'file' as const, name: 'bad.xml', code: 'KGM-REPORT-XML', reason: 'empty document', size: 0 };
      await store.recordRejectedInput(input);
      await store.recordRejectedInput(input);
      await store.recordRejectedInput({ at: 2000, source: 'mail', name: 'm.eml', code: 'KGM-REPORT-NO-REPORT', reason: 'no report', size: 10 });
      const rows = await store.listRejectedInputs();
      expect(rows).toHaveLength(2);
      expect(rows[1]).toEqual(input);
      expect(rows[0]).toMatchObject({ name: 'm.eml', source: 'mail' });
    });

    it('counts outbound source addresses with first and last use', async () => {
      expect(await store.listOutboundSources()).toEqual([]);
      await store.recordOutboundSources([{ ip: '192.0.2.25', at: 2000 }, { ip: '2001:db8::25', at: 1500 }, { ip: '192.0.2.25', at: 1000 }]);
      await store.recordOutboundSources([{ ip: '192.0.2.25', at: 5000 }]);
      // An older timestamp arriving late changes first_seen only.
      await store.recordOutboundSources([{ ip: '2001:db8::25', at: 500 }]);
      await store.recordOutboundSources([]);
      expect(await store.listOutboundSources()).toEqual([
        { ip: '192.0.2.25', firstSeen: 1000, lastSeen: 5000, count: 3 },
        { ip: '2001:db8::25', firstSeen: 500, lastSeen: 1500, count: 2 },
      ]);
    });

    it('keeps PTR answers until they expire; a new answer replaces the old', async () => {
      await store.putCachedPtrs([
        { ip: '192.0.2.1', ptr: 'o1.sendgrid.net', confirmed: true, fetchedAt: 1000, expiresAt: 5000 },
        { ip: '192.0.2.2', ptr: null, confirmed: false, fetchedAt: 1000, expiresAt: 3000 },
      ]);
      const at = async (now: number) => (await store.getCachedPtrs(['192.0.2.1', '192.0.2.2', '192.0.2.3'], now)).sort((a, b) => a.ip.localeCompare(b.ip));
      expect(await at(2000)).toEqual([
        { ip: '192.0.2.1', ptr: 'o1.sendgrid.net', confirmed: true, fetchedAt: 1000, expiresAt: 5000 },
        { ip: '192.0.2.2', ptr: null, confirmed: false, fetchedAt: 1000, expiresAt: 3000 },
      ]);
      expect((await at(3000)).map((e) => e.ip)).toEqual(['192.0.2.1']);
      await store.putCachedPtrs([{ ip: '192.0.2.2', ptr: 'relay.example.org', confirmed: false, fetchedAt: 4000, expiresAt: 9000 }]);
      expect(await at(6000)).toEqual([{ ip: '192.0.2.2', ptr: 'relay.example.org', confirmed: false, fetchedAt: 4000, expiresAt: 9000 }]);
      expect(await store.getCachedPtrs([], 0)).toEqual([]);
    });

    it('takes a large batch (group commit of many messages with many recipients)', async () => {
      const batch = Array.from({ length: 200 }, (_, i) =>
        message(`BULK${String(i).padStart(4, '0')}`, 1000 + i, Array.from({ length: 5 }, (_, j) => `u${j}@example.test`)),
      );
      await store.enqueue(batch);
      expect(await store.dueDeliveries(10_000, 5000)).toHaveLength(1000);
    });
  });
}
