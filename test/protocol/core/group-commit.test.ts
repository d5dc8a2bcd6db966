import { describe, expect, it } from 'vitest';
import { createGroupCommit } from '../../../src/core/group-commit.js';
import { createDirSyncer } from '../../../src/delivery/fsync.js';

describe('group commit', () => {
  it('commits an item alone when nothing else is waiting', async () => {
    const batches: number[][] = [];
    const g = createGroupCommit<number>(async (b) => void batches.push(b));
    await g.submit(1);
    expect(batches).toEqual([[1]]);
  });

  it('gathers items that arrive while a commit runs into the next commit', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const g = createGroupCommit<number>(async (b) => {
      batches.push(b);
      if (batches.length === 1) await gate;
    });
    const first = g.submit(0);
    await new Promise((r) => setImmediate(r));
    const rest = [1, 2, 3, 4].map((n) => g.submit(n));
    release();
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[0], [1, 2, 3, 4]]);
    expect(g.stats()).toEqual({ commits: 2, items: 5 });
  });

  it('rejects every item of a failed commit, and goes on with the next', async () => {
    let fail = true;
    const g = createGroupCommit<number>(async () => {
      if (fail) {
        fail = false;
        throw new Error('disk full');
      }
    });
    const a = g.submit(1);
    const b = g.submit(2);
    await expect(a).rejects.toThrow('disk full');
    await expect(b).rejects.toThrow('disk full');
    await expect(g.submit(3)).resolves.toBeUndefined();
  });
});

describe('directory fsync coalescing', () => {
  it('serves requests made during an fsync with one more fsync, never with the one already running', async () => {
    const started: number[] = [];
    let release: Array<() => void> = [];
    const syncer = createDirSyncer(async () => {
      started.push(Date.now());
      await new Promise<void>((r) => release.push(r));
    });
    const a = syncer.sync('/d');
    const b = syncer.sync('/d');
    const c = syncer.sync('/d');
    expect(started).toHaveLength(1);
    release.shift()!();
    await a;
    await new Promise((r) => setImmediate(r));
    expect(started).toHaveLength(2); // b and c share the second fsync
    release.shift()!();
    await Promise.all([b, c]);
    expect(syncer.stats()).toEqual({ fsyncs: 2, requests: 3 });
  });
});
