/** `kagami demo` output: the summary a person reads, and the `--json` object. */
import path from 'node:path';
import { DEMO_DOMAINS, DEMO_RECIPIENT, TRUSTED_ARC_SEALERS } from './scenario.js';
import { demoFolders, type DemoReport, type ScenarioReport } from './run.js';

/** Scenarios whose outcome was not the expected one. */
export function unexpected(report: DemoReport): ScenarioReport[] {
  return report.scenarios.filter((s) => s.outcome !== s.expected);
}

export function demoJson(report: DemoReport) {
  return {
    dataDir: report.dataDir,
    smtpPort: report.smtpPort,
    httpPort: report.httpPort,
    scenarios: report.scenarios.map((s) => ({
      name: s.name,
      expected: s.expected,
      outcome: s.outcome,
      reply: s.reply,
      dmarc: s.dmarc,
      reason: s.reason,
      action: s.action,
      file: s.file,
    })),
  };
}

const WHERE: Record<ScenarioReport['outcome'], string> = {
  delivered: 'delivered to INBOX',
  quarantined: 'quarantined in Junk',
  rejected: 'rejected',
  tempfailed: 'deferred with a 4xx, the sender retries later',
  accepted: 'accepted, not yet in a folder',
  error: 'no answer',
};

export function formatDemoReport(report: DemoReport, options: { running: boolean }): string {
  const out: string[] = [];
  out.push(
    `Kagami demo: ${report.scenarios.length} messages to ${DEMO_RECIPIENT}, each sent through the real MX on 127.0.0.1:${report.smtpPort}.`,
    `The demo's DNS server (${report.dns}) publishes the senders' SPF, DKIM and DMARC records:`,
    '',
  );
  const width = Math.max(...DEMO_DOMAINS.map((d) => d.domain.length));
  for (const d of DEMO_DOMAINS) {
    const dmarc = d.dmarc === 'SERVFAIL' ? '(lookup fails: SERVFAIL)' : d.dmarc ?? 'no DMARC record';
    out.push(`  ${d.domain.padEnd(width)}  ${dmarc.padEnd(24)}  ${d.role}`);
  }
  out.push('', `Local policy: [policy] trusted_arc_sealers = [${TRUSTED_ARC_SEALERS.map((s) => `"${s}"`).join(', ')}]`, '');

  report.scenarios.forEach((s, i) => {
    const verdict = s.outcome === s.expected ? 'as expected' : `UNEXPECTED: expected ${s.expected}`;
    out.push(`${String(i + 1).padStart(2)}. ${s.name}: ${WHERE[s.outcome]} (${verdict})`);
    out.push(...wrap(s.shows, '      '));
    out.push(`    reply   ${s.reply}`);
    if (s.dmarc !== null) out.push(`    DMARC   ${s.dmarc}${s.policy ? ` (${s.policy})` : ''}; ${s.checks}; action ${s.action}`);
    else out.push('    DMARC   (no verdict row found)');
    if (s.reason) out.push(...wrap(s.reason, '    why     ', '            '));
    if (s.file) out.push(`    file    ${path.relative(report.dataDir, s.file)}`);
    out.push('');
  });

  const wrong = unexpected(report);
  out.push(
    wrong.length === 0
      ? `All ${report.scenarios.length} scenarios ended as expected.`
      : `${wrong.length} of ${report.scenarios.length} scenarios did not end as expected: ${wrong.map((s) => `${s.name} (${s.outcome}, expected ${s.expected})`).join(', ')}.`,
    '',
  );

  const { inbox, junk } = demoFolders(report.dataDir);
  const data = report.dataDir;
  out.push(
    report.temporary && !options.running
      ? `Where to look, next time (DATA ${data} was temporary and is removed now: run \`kagami demo --data DIR\` to keep it):`
      : `Where to look (DATA = ${data}${report.temporary ? ', removed when the demo stops; keep it with --data DIR' : ''}):`,
    `  INBOX        ${path.join(inbox, 'new')}/`,
    `  Junk         ${path.join(junk, 'new')}/   (each with a Kagami-Quarantine: field)`,
    `  verdicts     kagami log --data ${data}          (every message and refused attempt, with its reasons)`,
    `  quarantine   kagami quarantine --data ${data}`,
    `  queue        kagami queue --data ${data}`,
    `  metrics      http://127.0.0.1:${report.httpPort}/metrics${options.running ? '' : '   (while the demo runs)'}`,
  );
  if (options.running) {
    out.push(
      '',
      `Kagami is still running: SMTP 127.0.0.1:${report.smtpPort}, DNS from the demo zone. Send it more, e.g.`,
      `  swaks --server 127.0.0.1:${report.smtpPort} --from you@spoof.example --header 'From: security@bank.example' --to ${DEMO_RECIPIENT}`,
      'Ctrl-C to stop.',
    );
  }
  return out.join('\n') + '\n';
}

/** Wraps text at 100 columns: the first line after `first`, the rest after `rest`. */
function wrap(text: string, first: string, rest = first): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of text.split(/\s+/)) {
    const fresh = line === first || line === rest;
    if (!fresh && line.length + 1 + word.length > 100) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (fresh ? '' : ' ') + word;
    }
  }
  if (line.trim() !== '') lines.push(line);
  return lines;
}
