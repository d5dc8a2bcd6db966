/**
 * Runs the built `kagami` command (bin/kagami.js → dist/) as a child process, as an operator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'kagami.js');

export interface PortsFile {
  smtp?: number;
  http?: number;
  pid: number;
}

export interface LiveKagami {
  proc: ChildProcess;
  output(): string;
  /** Resolves with ports.json once every listener is bound. */
  ports: Promise<PortsFile>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function runKagami(args: string[], dataDir?: string): LiveKagami {
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const ports = (async () => {
    if (!dataDir) throw new Error('no data dir given');
    const file = path.join(dataDir, 'run', 'ports.json');
    const deadline = Date.now() + 30_000;
    let done = false;
    void exited.then(() => (done = true));
    for (;;) {
      if (existsSync(file)) {
        const parsed = JSON.parse(readFileSync(file, 'utf8')) as PortsFile;
        if (parsed.pid === proc.pid) return parsed;
      }
      if (done) throw new Error(`kagami exited before listening:\n${out}`);
      if (Date.now() > deadline) throw new Error(`kagami did not write ports.json within 30 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  ports.catch(() => undefined);
  return { proc, output: () => out, ports, exited };
}

/** Runs a short kagami command to completion. */
export function kagamiCommand(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('error', reject);
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
