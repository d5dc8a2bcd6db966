/**
 * Preloaded into the `kagami reports import` process (node --import) by bench/ingest/run.ts:
 * at exit it writes the process's own peak resident set (VmHWM of /proc/self/status) and its
 * CPU time (all threads) as JSON to the file named by BENCH_RSS_OUT. It adds nothing to the
 * import's work.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.BENCH_RSS_OUT;
if (out) {
  process.on('exit', () => {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'latin1'));
    const cpu = process.cpuUsage();
    writeFileSync(out, JSON.stringify({ peakRssBytes: m ? Number(m[1]) * 1024 : process.memoryUsage().rss, cpuMs: (cpu.user + cpu.system) / 1000 }));
  });
}
