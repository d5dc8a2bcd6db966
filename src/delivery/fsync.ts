/**
 * fsync helpers. A new file is durable only once its own data and the directory entry that names
 * it are on disk, so every create is followed by an fsync of the file and of its directory.
 * Directory fsyncs are coalesced: callers that arrive while one is running share the next one,
 * which is how group commit spreads the cost over concurrent messages.
 */
import { promises as fs, constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface DirSyncer {
  /** Resolves once an fsync of `dir` that started after this call has completed. */
  sync(dir: string): Promise<void>;
  /** How many fsyncs were run and how many requests they served. */
  stats(): { fsyncs: number; requests: number };
}

interface DirState {
  running: Promise<void> | null;
  next: Promise<void> | null;
}

/**
 * fsync of directories through handles kept open (`max` of them, least recently used closed
 * first): the spool directory is synced many times a second, and opening and closing it each
 * time cost more than the fsync itself. Only for directories Kagami owns and never re-creates:
 * a handle on a directory removed and made again would sync the old one.
 */
export function createDirHandleSync(max = 128): (dir: string) => Promise<void> {
  const handles = new Map<string, Promise<FileHandle>>();
  return async function syncOne(dir: string): Promise<void> {
    let handle = handles.get(dir);
    if (handle) {
      handles.delete(dir); // re-inserted below as the most recent
    } else {
      handle = fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
      if (handles.size >= max) {
        const [oldest, old] = handles.entries().next().value as [string, Promise<FileHandle>];
        handles.delete(oldest);
        void old.then((h) => h.close()).catch(() => undefined);
      }
    }
    handles.set(dir, handle);
    try {
      await (await handle).sync();
    } catch {
      // The handle went bad (the directory vanished?): drop it and sync by path once.
      handles.delete(dir);
      void handle.then((h) => h.close()).catch(() => undefined);
      await fsyncDir(dir);
    }
  };
}

export function createDirSyncer(syncOne: (dir: string) => Promise<void> = fsyncDir): DirSyncer {
  const dirs = new Map<string, DirState>();
  let fsyncs = 0;
  let requests = 0;

  function run(dir: string, state: DirState): Promise<void> {
    fsyncs++;
    const p = syncOne(dir).finally(() => {
      state.running = null;
      if (state.next === null) dirs.delete(dir);
    });
    state.running = p;
    return p;
  }

  function sync(dir: string): Promise<void> {
    requests++;
    let state = dirs.get(dir);
    if (!state) {
      state = { running: null, next: null };
      dirs.set(dir, state);
    }
    if (state.running === null) return run(dir, state);
    if (state.next === null) {
      const s = state;
      // Waits for the running fsync (its outcome does not matter to us), then runs one more.
      s.next = state.running.then(
        () => {
          s.next = null;
          return run(dir, s);
        },
        () => {
          s.next = null;
          return run(dir, s);
        },
      );
    }
    return state.next as Promise<void>;
  }

  return { sync, stats: () => ({ fsyncs, requests }) };
}
