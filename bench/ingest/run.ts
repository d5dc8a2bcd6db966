/**
 * bench/ingest: `kagami reports import` of generated gzip aggregate reports beside a bare
 * fast-xml-parser parse (gunzip + XMLParser.parse) of the same files, in one run. A benchmark,
 * not a test: it asserts nothing, it prints a table. See README.md.
 *
 *   bash bench/ingest/run.sh                       # 100 000 reports
 *   BENCH_REPORTS=2000 bash bench/ingest/run.sh    # quick
 *
 * env: BENCH_REPORTS (100000), BENCH_SEED (1), BENCH_TIMEOUT (import time limit, s; 1800),
 *      BENCH_KEEP=1 (keep the temporary directory), KAGAMI_NODE_ARGS (node flags for the import
 *      process, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), TMPDIR.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, readdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Sqlite from 'better-sqlite3';

const HERE = path.dirname(new URL(import.meta.url).pathname);
const ROOT = path.resolve(HERE, '../..');
const COUNT = Number(process.env.BENCH_REPORTS ?? 100_000);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT ?? 1800);
const NODE_ARGS = (process.env.KAGAMI_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
const MB = 1024 * 1024;
/** The build of src/ the import runs (run.sh makes a private one; dist/ otherwise). */
const DIST = process.env.KAGAMI_DIST ?? path.join(ROOT, 'dist');
/** cli: `kagami reports import` (the default); api: import-api.ts, the same importPaths and store without the CLI. */
const VIA = process.env.BENCH_VIA === 'api' ? 'api' : 'cli';

const log = (s: string): void => void process.stderr.write(`bench/ingest: ${s}\n`);
const q = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

interface RefResult {
  reports: number;
  seconds: number;
  rps: number;
  cpuMs: number;
  xmlBytes: number;
  peakRssBytes: number;
}

function runReference(dir: string): RefResult {
  const out = execFileSync(process.execPath, [path.join(HERE, 'reference.ts'), dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as RefResult;
}

function vmRss(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

interface Sample {
  t: number;
  done: number;
  rss: number;
}

interface KagamiResult {
  seconds: number;
  done: number;
  timedOut: boolean;
  exitCode: number | null;
  summary: string;
  peakRssBytes: number;
  /** CPU time of the import process, all threads (user + system). */
  cpuMs: number;
  samples: Sample[];
}

/** `kagami reports import DIR --data DATA` in its own process: the CLI's entry point in DIST. */
function runKagami(dir: string, data: string, rssFile: string): Promise<KagamiResult> {
  const command = VIA === 'cli' ? [path.join(DIST, 'cli/index.js'), 'reports', 'import', dir, '--data', data] : [path.join(HERE, 'import-api.ts'), DIST, data, dir];
  const args = [...NODE_ARGS, '--import', path.join(HERE, 'rss-probe.ts'), ...command];
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, BENCH_RSS_OUT: rssFile }, stdio: ['ignore', 'pipe', 'pipe'] });
  let done = 0;
  let stdout = '';
  let timedOut = false;
  const samples: Sample[] = [];
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  // Without a terminal the CLI writes "[done/total] name" per file to stderr: the progress. Only
  // the last such line of each chunk is read (this process shares the two cores with the import).
  let partial = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    const text = partial + c;
    const end = text.lastIndexOf('\n');
    partial = text.slice(end + 1);
    const last = text.lastIndexOf('\n[', end - 1);
    const m = /^\[(\d+)\//.exec(text.slice(last + 1, end));
    if (m) done = Number(m[1]);
    if (/(^|\n)[^[\n]/.test(text.slice(0, end))) {
      for (const line of text.slice(0, end).split('\n')) if (line !== '' && !line.startsWith('[')) process.stderr.write(`  kagami: ${line.slice(0, 300)}\n`);
    }
  });
  let lastLog = 0;
  const timer = setInterval(() => {
    const t = (performance.now() - t0) / 1000;
    const rss = vmRss(child.pid!);
    if (rss !== null) samples.push({ t, done, rss });
    if (t - lastLog >= 10) {
      lastLog = t;
      log(`kagami ${done}/${COUNT} reports after ${t.toFixed(0)} s (${(done / t).toFixed(0)}/s), RSS ${rss === null ? '?' : (rss / MB).toFixed(0)} MB`);
    }
    if (t > TIMEOUT_S && !timedOut) {
      timedOut = true;
      log(`kagami: over BENCH_TIMEOUT=${TIMEOUT_S} s, stopping the import`);
      child.kill('SIGTERM');
    }
  }, 1000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearInterval(timer);
      const seconds = (performance.now() - t0) / 1000;
      const probe = existsSync(rssFile) ? (JSON.parse(readFileSync(rssFile, 'utf8')) as { peakRssBytes: number; cpuMs: number }) : null;
      const peak = probe?.peakRssBytes ?? Math.max(0, ...samples.map((s) => s.rss));
      resolve({ seconds, done, timedOut, exitCode: code, summary: stdout.trim().split('\n')[0] ?? '', peakRssBytes: peak, cpuMs: probe?.cpuMs ?? NaN, samples });
    });
  });
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? dirBytes(path.join(dir, e.name)) : statSync(path.join(dir, e.name)).size;
  return n;
}

async function main(): Promise<void> {
  if (!existsSync(path.join(DIST, 'cli/index.js'))) throw new Error(`${DIST}/cli/index.js is missing: run bench/ingest/run.sh (it builds)`);
  const tmp = mkdtempSync(path.join(process.env.TMPDIR ?? os.tmpdir(), 'kagami-bench-ingest.'));
  const reports = path.join(tmp, 'reports');
  const data = path.join(tmp, 'data');
  try {
    log(`generating ${COUNT} reports (seed ${SEED}) in ${reports}`);
    // In a child, so that this process stays small while it watches the import.
    const gen = JSON.parse(
      execFileSync(process.execPath, [path.join(HERE, 'generate.ts'), reports, String(COUNT), String(SEED), '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * MB, stdio: ['ignore', 'pipe', 'inherit'] }),
    ) as { records: number; seconds: number; xmlBytes: number[]; gzBytes: number[] };
    const xs = gen.xmlBytes;
    const gs = gen.gzBytes;
    const sum = (a: number[]) => a.reduce((s, x) => s + x, 0);
    log(`generated in ${gen.seconds.toFixed(1)} s: ${gen.records} records`);

    log('reference (gunzip + XMLParser.parse), pass 1');
    const ref1 = runReference(reports);
    log(`reference pass 1: ${ref1.rps.toFixed(0)} reports/s`);

    log(`kagami reports import ${reports} --data ${data}`);
    const k = await runKagami(reports, data, path.join(tmp, 'kagami-rss'));
    log(`kagami: exit ${k.exitCode}, ${k.summary}`);

    log('reference (gunzip + XMLParser.parse), pass 2');
    const ref2 = runReference(reports);
    log(`reference pass 2: ${ref2.rps.toFixed(0)} reports/s`);

    // What the store holds afterwards, read directly.
    let stored = { reports: 0, records: 0 };
    const dbFile = path.join(data, 'kagami.db');
    if (existsSync(dbFile)) {
      const db = new Sqlite(dbFile, { readonly: true });
      stored = {
        reports: (db.prepare("SELECT count(*) AS n FROM reports WHERE kind = 'aggregate'").get() as { n: number }).n,
        records: (db.prepare('SELECT count(*) AS n FROM report_records').get() as { n: number }).n,
      };
      db.close();
    }
    const dbBytes = ['kagami.db', 'kagami.db-wal'].map((f) => path.join(data, f)).filter(existsSync).reduce((s, f) => s + statSync(f).size, 0);

    const ref = ref1.rps >= ref2.rps ? ref1 : ref2;
    const kRps = k.done / k.seconds;
    const git = (() => {
      try {
        const rev = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
        const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
        return dirty ? `${rev} + uncommitted src changes` : rev;
      } catch {
        return '?';
      }
    })();

    const lines: string[] = [];
    const out = (s = ''): void => void lines.push(s);
    out(`# bench/ingest — ${new Date().toISOString().slice(0, 19)}Z`);
    out();
    out(`${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, node ${process.version}, kagami ${git}, built ${statSync(path.join(DIST, 'cli/index.js')).mtime.toISOString().slice(0, 19)}Z`);
    out(`${COUNT} reports (seed ${SEED}), ${gen.records} records (${(gen.records / COUNT).toFixed(1)}/report); XML ${(sum(xs) / MB).toFixed(0)} MB, per report min/median/p90/max ${q(xs, 0)}/${q(xs, 0.5)}/${q(xs, 0.9)}/${q(xs, 1)} B; gzip ${(dirBytes(reports) / MB).toFixed(0)} MB, median ${q(gs, 0.5)} B`);
    out();
    const cpuPer = (cpuMs: number, n: number) => (n > 0 ? (cpuMs / n).toFixed(3) : '-');
    out('| | reports | seconds | reports/s | ratio | CPU ms per report | peak RSS |');
    out('|---|---|---|---|---|---|---|');
    out(`| bare parse, pass 1 (gunzip + XMLParser.parse) | ${ref1.reports} | ${ref1.seconds.toFixed(1)} | ${ref1.rps.toFixed(0)} | ${ref === ref1 ? '1.00' : (ref1.rps / ref.rps).toFixed(2)} | ${cpuPer(ref1.cpuMs, ref1.reports)} | ${(ref1.peakRssBytes / MB).toFixed(0)} MB |`);
    out(`| bare parse, pass 2 | ${ref2.reports} | ${ref2.seconds.toFixed(1)} | ${ref2.rps.toFixed(0)} | ${ref === ref2 ? '1.00' : (ref2.rps / ref.rps).toFixed(2)} | ${cpuPer(ref2.cpuMs, ref2.reports)} | ${(ref2.peakRssBytes / MB).toFixed(0)} MB |`);
    out(`| **${VIA === 'cli' ? 'kagami reports import' : 'importPaths (BENCH_VIA=api)'}** | ${k.done} | ${k.seconds.toFixed(1)} | **${kRps.toFixed(0)}** | **${(kRps / ref.rps).toFixed(2)}** | ${cpuPer(k.cpuMs, k.done)} | **${(k.peakRssBytes / MB).toFixed(0)} MB** |`);
    out();
    out(`ratio = Kagami reports/s ÷ the faster bare-parse pass. Target ≥ 0.50 and RSS flat below 300 MB.`);
    out(`CPU ms per report: user + system time of the process, all threads, over reports (Kagami's includes its start-up and the import's directory walk; less sensitive than wall time to other load on the machine).`);
    out(`Kagami: exit ${k.exitCode}${k.timedOut ? ` (stopped after BENCH_TIMEOUT=${TIMEOUT_S} s)` : ''}; CLI said "${k.summary}"; store afterwards: ${stored.reports} aggregate reports, ${stored.records} records, ${(dbBytes / MB).toFixed(0)} MB (db + wal).`);
    // RSS over time: ten points evenly spaced over the import.
    const pts = k.samples.length > 0 ? Array.from({ length: 10 }, (_, i) => k.samples[Math.min(k.samples.length - 1, Math.round(((i + 1) / 10) * (k.samples.length - 1)))]!) : [];
    if (pts.length > 0) {
      out();
      out('Kagami RSS over the import (VmRSS sampled every second; ten points):');
      out();
      out(`| ${pts.map((p) => `${p.t.toFixed(0)} s`).join(' | ')} |`);
      out(`|${pts.map(() => '---').join('|')}|`);
      out(`| ${pts.map((p) => `${p.done}`).join(' | ')} |`);
      out(`| ${pts.map((p) => `${(p.rss / MB).toFixed(0)} MB`).join(' | ')} |`);
      const half = k.samples.filter((s) => s.t >= k.seconds / 2).map((s) => s.rss);
      const first = k.samples.filter((s) => s.t < k.seconds / 2).map((s) => s.rss);
      if (half.length > 0 && first.length > 0) out(`\nmax RSS first half ${(Math.max(...first) / MB).toFixed(0)} MB, second half ${(Math.max(...half) / MB).toFixed(0)} MB`);
    }
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    if (process.env.BENCH_KEEP) log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
