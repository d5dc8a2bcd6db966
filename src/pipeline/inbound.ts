/**
 * The inbound flow at the MX, one SMTP phase at a time:
 * connect (per-IP limit, PTR lookup started) → MAIL FROM → RCPT TO (our domains only, recipient
 * policy) → DATA streamed to the spool while the scanner checks it → spool fsync → group commit
 * → 250. Delivery starts once the commit is done (see delivery/worker.ts).
 */
import type { Readable } from 'node:stream';
import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { KagamiConfig } from '../config/schema.js';
import { errorEntry, smtpReply } from '../core/errors.js';

const errorText = (code: Parameters<typeof errorEntry>[0]) => errorEntry(code).smtp?.text ?? '';
import type { Clock } from '../core/clock.js';
import { newQueueId } from '../core/ids.js';
import type { DnsResolver } from '../dns/types.js';
import type { Spool, SpoolFile } from '../delivery/spool.js';
import { createMessageScanner } from '../message/scanner.js';
import { stripForgedAuthResults } from '../message/forged-authres.js';
import { formatReceived, formatReturnPath } from '../message/trace.js';
import type { Logger } from '../observability/log.js';
import type { Metrics } from '../observability/metrics.js';
import type { MxHandlers, SmtpRefusal } from '../smtp/server/mx.js';
import type { NewRecipient, Store } from '../store/types.js';
import { verifySpf, type SpfVerification } from '../auth/spf/verify.js';
import { decide } from '../policy/decide.js';
import type { LocalPolicy, Verdict } from '../policy/types.js';
import type { VerdictRow } from '../store/types.js';
import type { Acceptor } from './acceptance.js';
import { authenticateMessage, type AuthenticationVerdict } from './authenticate.js';
import { resolveRecipient, type RecipientPolicy } from './recipients.js';
import { forwardConfirmedName } from '../dns/fcrdns.js';

interface SessionState {
  ip: string;
  openedAt: number;
  /** The PTR name, and whether its address records lead back to the client (forward-confirmed). */
  ptr: Promise<{ name: string; confirmed: boolean } | null>;
  targets: NewRecipient[];
  /** SPF for this transaction, started at MAIL FROM (STYLE 7: DNS work starts as soon as its input is known). */
  spf: Promise<SpfVerification> | null;
  messages: number;
  /** Set while DATA streams, so a client that disconnects mid-DATA can be cleaned up. */
  abortData: (() => void) | null;
}

export interface InboundDeps {
  config: Readonly<KagamiConfig>;
  /** Records verdicts of messages that are refused (accepted ones go with their queue row). */
  store: Pick<Store, 'recordVerdicts'>;
  localPolicy: LocalPolicy;
  spool: Spool;
  acceptor: Acceptor;
  recipientPolicy: RecipientPolicy;
  resolver: DnsResolver;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}

/** How long the Received field waits for the PTR answer before writing the IP alone. */
const PTR_WAIT_MS = 1500;
/** Messages up to this size are checked from memory; larger ones are read back from the spool file. */
const KEEP_IN_MEMORY = 4 * 1024 * 1024;

/** Header and reply text are ASCII, on one line, and bounded. */
function headerText(text: string, max = 300): string {
  const ascii = text.replace(/§\s*/g, 'section ').replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > max ? ascii.slice(0, max - 3) + '...' : ascii;
}

/** The SMTP reply for a refused message: the policy and the domain, so the sender can fix it (STYLE 10). */
function refusalFor(policy: Verdict, v: AuthenticationVerdict): SmtpRefusal {
  if (policy.action === 'tempfail') {
    return smtpReply('KGM-DMARC-TEMPFAIL', `${errorText('KGM-DMARC-TEMPFAIL')} (${headerText(v.dmarc.fromDomain ?? 'the From domain', 100)})`);
  }
  if (v.dmarc.fromError) return smtpReply('KGM-FROM-INVALID', `${errorText('KGM-FROM-INVALID')}: ${headerText(v.dmarc.reason, 200)}`);
  const domain = v.dmarc.policyDomain ?? v.dmarc.fromDomain ?? 'the sender';
  return smtpReply('KGM-DMARC-REJECT', `DMARC policy of ${domain} is reject: ${headerText(policy.reason)}`);
}

/** The verdict log row for a message (STYLE 1: facts recorded as they were found). */
export function verdictRow(
  id: string,
  at: number,
  ip: string,
  ptr: string | null,
  helo: string,
  mailFrom: string,
  recipients: string[],
  v: AuthenticationVerdict,
  policy: Verdict,
): VerdictRow {
  const dkimSummary = v.dkim.some((d) => d.result === 'pass') ? 'pass' : (v.dkim[0]?.result ?? 'none');
  return {
    id,
    queueId: id,
    at,
    clientIp: ip,
    ptr,
    helo,
    mailFrom,
    headerFrom: v.headerFrom[0]?.trim() ?? null,
    fromDomain: v.dmarc.fromDomain,
    recipients,
    spfResult: v.spf.result,
    dkimResult: dkimSummary,
    arcResult: v.arc.result,
    dmarcResult: v.dmarc.result,
    action: policy.action,
    detail: {
      policy: { action: policy.action, reason: policy.reason, appliedPolicy: policy.appliedPolicy, override: policy.override, shadow: policy.shadow },
      spf: { result: v.spf.result, domain: v.spf.domain, identity: v.spf.identity, reason: v.spf.reason, lookups: v.spf.lookups },
      dkim: v.dkim,
      arc: v.arc,
      dmarc: {
        result: v.dmarc.result,
        fromDomain: v.dmarc.fromDomain,
        policyDomain: v.dmarc.policyDomain,
        organizationalDomain: v.dmarc.organizationalDomain,
        policyTag: v.dmarc.policyTag,
        policy: v.dmarc.policy,
        testing: v.dmarc.testing,
        appliedPolicy: v.dmarc.appliedPolicy,
        alignment: v.dmarc.alignment,
        reason: v.dmarc.reason,
      },
      authenticationResults: v.authenticationResults.trimEnd(),
    },
  };
}

export function createInboundHandlers(deps: InboundDeps): MxHandlers {
  const { config, spool, acceptor, log, metrics, clock } = deps;
  const limits = config.limits;
  const sessions = new Map<string, SessionState>();

  async function lookupPtr(ip: string): Promise<{ name: string; confirmed: boolean } | null> {
    const r = await forwardConfirmedName(deps.resolver, ip);
    return r.kind === 'confirmed' || r.kind === 'unconfirmed' ? { name: r.name, confirmed: r.kind === 'confirmed' } : null;
  }

  async function onConnect(session: SMTPServerSession, openFromAddress: number): Promise<SmtpRefusal | null> {
    const ip = session.remoteAddress;
    metrics.connections.inc({ listener: 'mx' });
    if (openFromAddress > limits.connections_per_ip) {
      log.warn({ ip, open: openFromAddress - 1, limit: limits.connections_per_ip }, 'connection refused: too many from this address');
      return smtpReply('KGM-TOO-MANY-CONNECTIONS');
    }
    metrics.connectionsOpen.inc({ listener: 'mx' });
    const ptr = lookupPtr(ip).catch(() => null);
    sessions.set(session.id, { ip, openedAt: clock.now(), ptr, targets: [], spf: null, messages: 0, abortData: null });
    return null;
  }

  function onClose(session: SMTPServerSession): void {
    const state = sessions.get(session.id);
    if (!state) return;
    sessions.delete(session.id);
    state.abortData?.();
    metrics.connectionsOpen.dec({ listener: 'mx' });
    log.info(
      {
        event: 'connection',
        session: session.id,
        ip: state.ip,
        helo: session.hostNameAppearsAs || null,
        tls: Boolean(session.secure),
        messages: state.messages,
        ms: clock.now() - state.openedAt,
      },
      'connection closed',
    );
  }

  async function onMailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<SmtpRefusal | null> {
    const state = sessions.get(session.id);
    if (state) {
      state.targets = [];
      const spf = verifySpf({ ip: state.ip, mailFrom: address.address, helo: session.hostNameAppearsAs || '' }, deps.resolver, {
        receiver: config.hostname,
      });
      spf.catch(() => undefined);
      state.spf = spf;
    }
    return null;
  }

  async function onRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<SmtpRefusal | null> {
    const state = sessions.get(session.id);
    if (!state) return smtpReply('KGM-SHUTTING-DOWN');
    const decision = resolveRecipient(address.address, deps.recipientPolicy);
    if (decision.result === 'reject') {
      log.info({ event: 'rcpt-refused', session: session.id, ip: state.ip, rcpt: address.address, code: decision.code, reason: decision.reason }, 'recipient refused');
      return smtpReply(decision.code);
    }
    for (const t of decision.targets) {
      if (!state.targets.some((x) => x.route === t.route && x.mailbox === t.mailbox)) state.targets.push(t);
    }
    return null;
  }

  /**
   * Reads DATA to its end. A message up to KEEP_IN_MEMORY stays in memory (written once, whole,
   * after the checks); a larger one is streamed to its spool file as it arrives. Past a limit the
   * rest is read and dropped: the reply comes at end of DATA.
   */
  async function drain(stream: Readable, id: string, state: SessionState) {
    const scanner = createMessageScanner({
      lineLength: limits.line_length,
      headerBytes: limits.header_bytes,
      headerFields: limits.header_fields,
      rejectBareNewline: limits.bare_newline === 'reject',
    });
    let aborted = false;
    let kept: Buffer[] = [];
    let keptBytes = 0;
    let file: SpoolFile | null = null;
    state.abortData = () => {
      aborted = true;
      stream.destroy();
    };
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        scanner.push(chunk);
        if (scanner.violation !== null || (stream as { sizeExceeded?: boolean }).sizeExceeded) continue;
        if (file === null && keptBytes + chunk.length <= KEEP_IN_MEMORY) {
          kept.push(chunk);
          keptBytes += chunk.length;
          continue;
        }
        if (file === null) {
          file = await spool.create(id);
          for (const k of kept) await file.write(k);
          kept = [];
        }
        await file.write(chunk);
      }
    } catch (err) {
      if (!aborted) {
        await file?.abort().catch(() => undefined);
        throw err;
      }
    } finally {
      state.abortData = null;
    }
    return { aborted, summary: scanner.end(), file, message: file === null ? Buffer.concat(kept, keptBytes) : null };
  }

  async function onData(stream: Readable, session: SMTPServerSession): Promise<{ ok: string } | SmtpRefusal> {
    const state = sessions.get(session.id);
    if (!state) {
      stream.resume();
      return smtpReply('KGM-SHUTTING-DOWN');
    }
    const startedAt = clock.now();
    const id = newQueueId(startedAt);
    let file: SpoolFile | null = null;
    const fail = async (refusal: SmtpRefusal, result: string, extra: Record<string, unknown>) => {
      await file?.abort().catch(() => undefined);
      metrics.messages.inc({ result });
      log.info({ event: 'message', queueId: id, session: session.id, ip: state.ip, result, ...extra }, `message ${result}`);
      return refusal;
    };

    let scan;
    try {
      scan = await drain(stream, id, state);
      file = scan.file;
    } catch (err) {
      return fail(smtpReply('KGM-SPOOL-WRITE'), 'tempfailed', { err });
    }
    if (scan.aborted) return fail(smtpReply('KGM-SHUTTING-DOWN'), 'aborted', { reason: 'client disconnected during DATA' });
    if ((stream as { sizeExceeded?: boolean }).sizeExceeded) {
      return fail(smtpReply('KGM-MSG-TOO-BIG'), 'rejected', { code: 'KGM-MSG-TOO-BIG', bytes: scan.summary.bytes });
    }
    if (scan.summary.violation) {
      return fail(smtpReply(scan.summary.violation), 'rejected', { code: scan.summary.violation, bytes: scan.summary.bytes });
    }

    const endOfData = clock.now();
    const reverse = await Promise.race([state.ptr, new Promise<null>((r) => setTimeout(() => r(null), PTR_WAIT_MS))]);
    const ptr = reverse?.name ?? null;
    const recipients = state.targets;
    const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    const cipher = (session as { tlsOptions?: { name?: string; version?: string } }).tlsOptions;
    const received = formatReceived({
      helo: session.hostNameAppearsAs || '',
      ptr,
      clientIp: state.ip,
      hostname: config.hostname,
      protocol: session.transmissionType || 'ESMTP',
      tls: session.secure && cipher ? { version: cipher.version ?? 'TLS', cipher: cipher.name ?? 'unknown' } : null,
      queueId: id,
      recipient: session.envelope.rcptTo.length === 1 ? (session.envelope.rcptTo[0]?.address ?? null) : null,
      at: startedAt,
    });
    const helo = session.hostNameAppearsAs || '';
    const rcptAddresses = session.envelope.rcptTo.map((r) => r.address);
    let verdict: AuthenticationVerdict;
    let policy: Verdict;
    let content: Buffer;
    try {
      // A streamed file is fsynced while the checks run.
      const streamed = file?.commit() ?? null;
      streamed?.catch(() => undefined);
      const message: Buffer = scan.message ?? (await streamed!.then(() => spool.read(id)));
      verdict = await authenticateMessage(
        { message, ip: state.ip, helo, mailFrom, authservId: config.hostname, now: Math.floor(startedAt / 1000), spf: state.spf ?? undefined },
        deps.resolver,
      );
      const authenticatedDomains = [
        ...verdict.dkim.filter((d) => d.result === 'pass').map((d) => d.domain),
        ...(verdict.spf.result === 'pass' && verdict.spf.identity === 'mailfrom' ? [verdict.spf.domain] : []),
      ];
      policy = decide(
        { dmarc: verdict.dmarc, arc: verdict.arc, clientIp: state.ip, ptr: reverse?.confirmed ? reverse.name : null, listId: verdict.listId, authenticatedDomains },
        deps.localPolicy,
      );
      if (policy.action === 'reject' || policy.action === 'tempfail') {
        await deps.store.recordVerdicts([
          { ...verdictRow(id, startedAt, state.ip, ptr, helo, mailFrom, rcptAddresses, verdict, policy), queueId: null },
        ]);
        return fail(refusalFor(policy, verdict), policy.action === 'reject' ? 'rejected' : 'tempfailed', {
          code: policy.action,
          dmarc: verdict.dmarc.result,
          fromDomain: verdict.dmarc.fromDomain,
          reason: policy.reason,
        });
      }
      const quarantined = policy.action === 'quarantine';
      // RFC 8601 5: our Authentication-Results goes on top of our Received field.
      const traceHeaders =
        (quarantined ? `Kagami-Quarantine: dmarc; policy=quarantine; reason="${headerText(policy.reason).replace(/["\\]/g, "'")}"\r\n` : '') +
        verdict.authenticationResults +
        received;
      if (scan.message) {
        // Written once, as it will be delivered: Maildir delivery then only links it.
        content = Buffer.concat([
          Buffer.from(formatReturnPath(mailFrom) + traceHeaders, 'latin1'),
          stripForgedAuthResults(scan.message, config.hostname),
        ]);
        file = await spool.create(id);
        await file.write(content);
        await file.commit();
      } else {
        await streamed;
        content = message;
      }
      await acceptor.accept({
        id,
        receivedAt: startedAt,
        mailFrom,
        size: scan.summary.bytes,
        clientIp: state.ip,
        helo,
        traceHeaders,
        spoolComplete: scan.message !== null,
        recipients: quarantined ? recipients.map((r) => (r.route === 'remote' ? r : { ...r, folder: 'Junk' })) : recipients,
        verdict: verdictRow(id, startedAt, state.ip, ptr, helo, mailFrom, rcptAddresses, verdict, policy),
        content,
        ...(quarantined
          ? { quarantine: { reason: policy.reason, headerFrom: verdict.headerFrom[0]?.trim() ?? null, fromDomain: verdict.dmarc.fromDomain, subject: verdict.subject } }
          : {}),
      });
    } catch (err) {
      return fail(smtpReply('KGM-SPOOL-WRITE'), 'tempfailed', { err });
    }
    const doneAt = clock.now();
    state.messages++;
    metrics.messages.inc({ result: 'accepted' });
    metrics.bytes.inc(scan.summary.bytes);
    metrics.acceptLatency.observe((doneAt - endOfData) / 1000);
    log.info(
      {
        event: 'message',
        queueId: id,
        session: session.id,
        ip: state.ip,
        from: mailFrom,
        rcpts: session.envelope.rcptTo.map((r) => r.address),
        size: scan.summary.bytes,
        result: 'accepted',
        action: policy.action,
        spf: verdict.spf.result,
        dkim: verdict.dkim.map((d) => `${d.result}:${d.domain}`),
        arc: verdict.arc.result,
        dmarc: verdict.dmarc.result,
        fromDomain: verdict.dmarc.fromDomain,
        ms: doneAt - startedAt,
      },
      'message accepted',
    );
    return { ok: `2.0.0 Ok: queued as ${id}` };
  }

  return { onConnect, onMailFrom, onRcptTo, onData, onClose };
}
