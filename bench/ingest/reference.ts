/**
 * The reference of bench/ingest: a bare fast-xml-parser parse of the same report files — read the
 * file, gunzip it, XMLParser.parse the bytes — with nothing else (no bounds, no checks, no
 * mapping, no store). Same library and version as Kagami (this checkout's node_modules), default
 * options with entity processing off. One parser reused for every file: its best case.
 * Prints one JSON line: { reports, seconds, rps, cpuMs, xmlBytes, peakRssBytes }.
 *
 *   node bench/ingest/reference.ts DIR
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { XMLParser } from 'fast-xml-parser';

/** Every *.xml.gz under dir, in the order `kagami reports import` takes them (sorted by name). */
export function listReports(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    const entries = readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.xml.gz')) out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

export function vmHwm(): number {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node bench/ingest/reference.ts DIR\n');
    process.exit(2);
  }
  const files = listReports(dir);
  const parser = new XMLParser({ processEntities: false, htmlEntities: false });
  let xmlBytes = 0;
  let roots = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const f of files) {
    const xml = gunzipSync(readFileSync(f));
    xmlBytes += xml.length;
    const doc = parser.parse(xml) as { feedback?: unknown };
    if (doc.feedback) roots++; // keeps the result alive, and checks it parsed
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  if (roots !== files.length) process.stderr.write(`reference: ${files.length - roots} files had no <feedback>\n`);
  process.stdout.write(JSON.stringify({ reports: files.length, seconds, rps: files.length / seconds, cpuMs: (cpu.user + cpu.system) / 1000, xmlBytes, peakRssBytes: vmHwm() }) + '\n');
}
