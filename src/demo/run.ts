/**
 * `kagami demo`, the run: a DNS server for the demo's sender domains, Kagami itself on free ports
 * with that DNS, every scenario sent through the real SMTP listener, then what became of each
 * message: the reply, the Maildir folder it landed in, and its row in the verdict log.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig } from '../config/load.js';
import { startZoneServer, type ZoneServer } from '../dns/zone-server.js';
import { dataPaths, startServer, type RunningServer } from '../main.js';
import { createLogger } from '../observability/log.js';
import type { VerdictRow } from '../store/types.js';
import {
  buildDemoZone,
  DEMO_DOMAIN,
  DEMO_HOSTNAME,
  DEMO_RECIPIENT,
  DEMO_SCENARIOS,
  demoMessageId,
  demoNonce,
  generateDemoKeys,
  TRUSTED_ARC_SEALERS,
  type DemoOutcome,
  type DemoScenario,
} from './scenario.js';
import { sendDemoMessage, type SendResult } from './smtp.js';

export interface DemoDeps {
  /** The verdict log of DATA, newest first (the CLI opens the store: only it and main.ts build adapters). */
  readVerdicts(dataDir: string): Promise<VerdictRow[]>;
}

export interface DemoOptions {
  /** Keep everything in this directory; without it a temporary one is made and removed at stop. */
  dataDir?: string;
  /** Most time to wait for the accepted messages to reach their Maildir folder. */
  deliveryTimeoutMs?: number;
}

/** What became of one scenario's message. */
export interface ScenarioReport {
  name: string;
  shows: string;
  expected: DemoOutcome;
  /** `accepted`: 250, but the message had not reached a folder in time; `error`: no SMTP reply. */
  outcome: DemoOutcome | 'accepted' | 'error';
  /** The reply that decided it, as the server wrote it ("250 2.0.0 Ok: queued as …"). */
  reply: string;
  /** The verdict log's action: deliver, quarantine, reject, tempfail (null when no row was found). */
  action: string | null;
  /** The DMARC result (pass, fail, none, temperror, permerror). */
  dmarc: string | null;
  /** The policy that applied, in words: "p=reject", "p=reject; t=y → quarantine". */
  policy: string | null;
  /** The other checks, for the summary: "spf=fail dkim=pass arc=none". */
  checks: string | null;
  /** Why: the verdict's reason (DMARC's, until the verdict carries its own). */
  reason: string | null;
  /** The Maildir file the message landed in. */
  file: string | null;
}

export interface DemoReport {
  dataDir: string;
  /** The data directory is removed when the demo stops. */
  temporary: boolean;
  smtpPort: number;
  httpPort: number;
  /** The demo's DNS server, "127.0.0.1:PORT". */
  dns: string;
  scenarios: ScenarioReport[];
}

export interface RunningDemo {
  report: DemoReport;
  /** Stops Kagami and the DNS server; removes a temporary data directory. */
  stop(): Promise<void>;
}

const SEND_TIMEOUT_MS = 10_000;

/** The Maildir folders of the demo's mailbox. */
export function demoFolders(dataDir: string): { inbox: string; junk: string } {
  const inbox = path.join(dataPaths(dataDir).mail, DEMO_DOMAIN, DEMO_RECIPIENT.split('@')[0]!);
  return { inbox, junk: path.join(inbox, '.Junk') };
}

export async function startDemo(options: DemoOptions, deps: DemoDeps): Promise<RunningDemo> {
  const keys = generateDemoKeys();
  const zone = buildDemoZone(keys);
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir === undefined ? await fs.mkdtemp(path.join(os.tmpdir(), 'kagami-demo-')) : path.resolve(options.dataDir);
  let dns: ZoneServer | null = null;
  let server: RunningServer | null = null;
  let stopped = false;
  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await server?.stop();
    await dns?.close();
    if (temporary) await fs.rm(dataDir, { recursive: true, force: true });
  }

  try {
    dns = await startZoneServer(zone);
    const config = validateConfig({
      hostname: DEMO_HOSTNAME,
      domains: [DEMO_DOMAIN],
      data_dir: dataDir,
      smtp: { port: 0 },
      http: { port: 0 },
      dns: { servers: [dns.address], timeout_ms: 1000, attempts: 1 },
      policy: { trusted_arc_sealers: [...TRUSTED_ARC_SEALERS] },
      log: { level: 'silent' },
    });
    server = await startServer(config, { log: createLogger('silent') });
    const smtpPort = server.ports.smtp!;
    const startedAt = Date.now() - 1000;
    const ctx = { keys, zone, nonce: demoNonce() };

    const sent: Array<{ scenario: DemoScenario; result: SendResult; messageId: string }> = [];
    for (const scenario of DEMO_SCENARIOS) {
      const message = await scenario.build(ctx);
      const result = await sendDemoMessage({
        host: '127.0.0.1',
        port: smtpPort,
        helo: scenario.helo,
        mailFrom: scenario.mailFrom,
        rcptTo: DEMO_RECIPIENT,
        message,
        timeoutMs: SEND_TIMEOUT_MS,
      });
      sent.push({ scenario, result, messageId: demoMessageId(scenario, ctx.nonce) });
    }

    const accepted = sent.filter((s) => s.result.stage === 'message' && s.result.reply.code === 250).map((s) => s.messageId);
    const files = await waitForFiles(demoFolders(dataDir), accepted, options.deliveryTimeoutMs ?? 15_000);
    const verdicts = (await deps.readVerdicts(dataDir)).filter((v) => v.at >= startedAt);
    const scenarios = sent.map(({ scenario, result, messageId }) => scenarioReport(scenario, result, files.get(messageId) ?? null, findVerdict(verdicts, scenario, result)));
    return {
      report: { dataDir, temporary, smtpPort, httpPort: server.ports.http!, dns: dns.address, scenarios },
      stop,
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** The accepted message's row by queue id; a refused attempt's by its envelope sender (unique per scenario). */
function findVerdict(verdicts: VerdictRow[], scenario: DemoScenario, result: SendResult): VerdictRow | null {
  const queued = /queued as (\S+)/.exec(result.reply.text)?.[1];
  if (queued) return verdicts.find((v) => v.queueId === queued || v.id === queued) ?? null;
  return verdicts.find((v) => v.mailFrom === scenario.mailFrom) ?? null;
}

function scenarioReport(
  scenario: DemoScenario,
  result: SendResult,
  file: { folder: 'inbox' | 'junk'; path: string } | null,
  verdict: VerdictRow | null,
): ScenarioReport {
  const code = result.reply.code;
  let outcome: ScenarioReport['outcome'];
  if (code >= 500) outcome = 'rejected';
  else if (code >= 400) outcome = 'tempfailed';
  else if (code >= 200 && code < 300 && result.stage === 'message') outcome = file === null ? 'accepted' : file.folder === 'junk' ? 'quarantined' : 'delivered';
  else outcome = 'error';
  const detail = (verdict?.detail ?? {}) as VerdictDetail;
  return {
    name: scenario.name,
    shows: scenario.shows,
    expected: scenario.expected,
    outcome,
    reply: result.reply.text,
    action: verdict?.action ?? null,
    dmarc: verdict?.dmarcResult ?? null,
    policy: describePolicy(detail.dmarc, verdict?.dmarcResult ?? null),
    checks: verdict ? `spf=${verdict.spfResult} dkim=${verdict.dkimResult} arc=${verdict.arcResult}` : null,
    reason: verdictReason(detail),
    file: file?.path ?? null,
  };
}

/** The parts of a verdict row's `detail` the demo reads; all optional, as the row's shape grows. */
interface VerdictDetail {
  verdict?: { reason?: unknown };
  policy?: { reason?: unknown };
  reason?: unknown;
  dmarc?: { reason?: unknown; policyTag?: unknown; policy?: unknown; testing?: unknown; appliedPolicy?: unknown };
}

function verdictReason(detail: VerdictDetail): string | null {
  for (const r of [detail.verdict?.reason, detail.policy?.reason, detail.reason, detail.dmarc?.reason]) {
    if (typeof r === 'string' && r !== '') return r;
  }
  return null;
}

/** "p=reject", and on a fail what was applied when it differs: "p=reject; t=y → quarantine". */
function describePolicy(dmarc: VerdictDetail['dmarc'], result: string | null): string | null {
  if (!dmarc || typeof dmarc.policyTag !== 'string' || typeof dmarc.policy !== 'string') return null;
  const testing = dmarc.testing === true ? '; t=y' : '';
  const differs = typeof dmarc.appliedPolicy === 'string' && dmarc.appliedPolicy !== dmarc.policy;
  const applied = result === 'fail' && differs ? ` → ${dmarc.appliedPolicy}` : '';
  return `${dmarc.policyTag}=${dmarc.policy}${testing}${applied}`;
}

/** Polls INBOX and Junk (new/ and cur/) until every Message-ID is found or time is up. */
async function waitForFiles(
  folders: { inbox: string; junk: string },
  messageIds: string[],
  timeoutMs: number,
): Promise<Map<string, { folder: 'inbox' | 'junk'; path: string }>> {
  const found = new Map<string, { folder: 'inbox' | 'junk'; path: string }>();
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const folder of ['inbox', 'junk'] as const) {
      for (const sub of ['new', 'cur']) {
        const dir = path.join(folders[folder], sub);
        const names = await fs.readdir(dir).catch(() => [] as string[]);
        for (const name of names) {
          const file = path.join(dir, name);
          if (seen.has(file)) continue;
          seen.add(file);
          const text = await fs.readFile(file, 'latin1').catch(() => '');
          const id = messageIds.find((m) => text.includes(`Message-ID: ${m}`));
          if (id) found.set(id, { folder, path: file });
        }
      }
    }
    if (messageIds.every((m) => found.has(m)) || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
}
