/**
 * Group commit: items submitted while a commit runs wait for the next one, which takes them all.
 * Alone, an item is committed at once (after one turn of the event loop, so items that arrived
 * in the same turn share it); under load, one commit serves many. Used for the spool directory
 * fsync + queue insert before each 250, and for delivery outcomes.
 */
export interface GroupCommit<T> {
  /** Resolves once a commit holding `item` has succeeded; rejects if that commit failed. */
  submit(item: T): Promise<void>;
  /** Resolves when nothing is waiting or committing. */
  idle(): Promise<void>;
  stats(): { commits: number; items: number };
}

interface Waiting<T> {
  item: T;
  resolve(): void;
  reject(err: unknown): void;
}

export function createGroupCommit<T>(commit: (batch: T[]) => Promise<void>): GroupCommit<T> {
  let waiting: Waiting<T>[] = [];
  let running: Promise<void> | null = null;
  let commits = 0;
  let items = 0;

  async function run(batch: Waiting<T>[]): Promise<void> {
    try {
      await commit(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    commits++;
    items += batch.length;
    for (const w of batch) w.resolve();
  }

  function pump(): void {
    if (running || waiting.length === 0) return;
    const batch = waiting;
    waiting = [];
    running = run(batch).finally(() => {
      running = null;
      pump();
    });
  }

  function submit(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!running && waiting.length === 1) setImmediate(pump);
    });
  }

  async function idle(): Promise<void> {
    while (running || waiting.length > 0) {
      await (running ?? new Promise((r) => setImmediate(r)));
    }
  }

  return { submit, idle, stats: () => ({ commits, items }) };
}
