/**
 * `run_as`: started as root to bind ports 25/587/465, Kagami becomes an ordinary user before it
 * touches any mail. The data directory's top-level entries are handed to that user.
 */
import { chownSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { KagamiError } from './core/errors.js';
import type { Logger } from './observability/log.js';

function userIds(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.split(':')[0] === user);
  if (!line) throw new KagamiError('KGM-CONFIG-INVALID', `run_as: there is no user "${user}" in /etc/passwd`);
  const fields = line.split(':');
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

export function dropPrivileges(user: string, dataDir: string, log: Logger): void {
  if (!process.getuid || !process.setuid || !process.setgid || process.getuid() !== 0) {
    log.warn({ run_as: user }, 'run_as is set but Kagami was not started as root; it keeps running as the current user');
    return;
  }
  const { uid, gid } = userIds(user);
  const entries = ['', 'spool', 'mail', 'run', 'run/ports.json', 'tls', 'kagami.db', 'kagami.db-wal', 'kagami.db-shm'];
  for (const entry of entries) {
    try {
      chownSync(path.join(dataDir, entry), uid, gid);
    } catch {
      // Not created yet: it will be created by the user we become.
    }
  }
  process.setgid(gid);
  process.setuid(uid);
  log.info({ run_as: user, uid, gid }, 'dropped root privileges');
}
