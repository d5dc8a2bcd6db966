import type { QueueEntry } from '../../src/store/types.js';
import { readQueue } from '../../src/cli/queue.js';

/** The queue as `kagami queue --json` shows it, read from a data directory. */
export async function kagamiQueue(dataDir: string): Promise<QueueEntry[]> {
  return readQueue(dataDir);
}
