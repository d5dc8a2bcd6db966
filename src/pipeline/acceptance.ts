/**
 * Making accepted messages durable before the 250. Each session has already fsynced its own
 * spool file; what remains is the spool directory entry and the queue row, done for a whole
 * group of messages at once (core/group-commit.ts): one directory fsync and one WAL fsync.
 */
import { createGroupCommit } from '../core/group-commit.js';
import type { DirSyncer } from '../delivery/fsync.js';
import type { NewMessage, Store } from '../store/types.js';

export interface Acceptor {
  /** Resolves once the message is durable (spool directory fsynced, queue row committed). */
  accept(message: NewMessage): Promise<void>;
  idle(): Promise<void>;
  stats(): { commits: number; items: number };
}

export function createAcceptor(opts: {
  store: Store;
  dirSyncer: DirSyncer;
  spoolDir: string;
  /** Called after each commit with the messages it made durable. */
  onCommitted?(messages: NewMessage[]): void;
}): Acceptor {
  const group = createGroupCommit<NewMessage>(async (batch) => {
    await opts.dirSyncer.sync(opts.spoolDir);
    await opts.store.enqueue(batch);
    // The batch is durable now; a failure to start delivery must not turn the 250 into a 451
    // (the client would send again and the message would be delivered twice).
    setImmediate(() => opts.onCommitted?.(batch));
  });
  return { accept: group.submit, idle: group.idle, stats: group.stats };
}
