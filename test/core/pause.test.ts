import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  handMergedPaths,
  pauseBlocks,
  pausedMessage,
  pauseForConflicts,
  pauseForGuidedMerge,
  resolveEndsPause,
  resumeAfterManualSync,
} from '../../src/core/pause.js';
import { openStateStore } from '../../src/shared/state.js';
import { silentLogger } from '../../src/shared/log.js';
import { makeTempDir } from '../helpers/sandbox.mjs';

const t0 = Date.parse('2026-12-06T10:00:00Z');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});
async function store() {
  const { dir: d, cleanup } = makeTempDir('sc-pause-');
  cleanups.push(cleanup);
  const file = join(d, 'coordinator-state.json');
  return { store: await openStateStore(file, silentLogger), paused: () => JSON.parse(readFileSync(file, 'utf8')).paused };
}

describe('the pause after a conflict left for the user (DESIGN section 5)', () => {
  it('is persisted with the paths and op, blocks automatic syncs but not a manual one', async () => {
    const { store: s, paused } = await store();
    expect(pauseBlocks(s.get().paused, 'intelligent-auto')).toBe(false);
    await pauseForConflicts(s, { paths: ['a.txt', 'b.txt'], op: 'op-1', at: t0 });
    expect(paused()).toEqual({ reason: 'conflict left for manual resolution', since: new Date(t0).toISOString(), paths: ['a.txt', 'b.txt'], op: 'op-1' });
    for (const type of ['intelligent-auto', 'smart', 'robust', 'post-merge'] as const) expect(pauseBlocks(s.get().paused, type)).toBe(true);
    expect(pauseBlocks(s.get().paused, 'manual')).toBe(false);
    expect(pausedMessage(s.get().paused!)).toBe(
      'automatic syncs are paused after a conflict left for manual resolution (a.txt, b.txt); when you have merged it by hand, run: sync-coordinator conflicts --resolve=a.txt (then the same for each other path)',
    );
  });

  it('a successful manual sync closes its paths and resumes; another type does not', async () => {
    const { store: s, paused } = await store();
    await pauseForConflicts(s, { paths: ['a.txt'], op: 'op-1', at: t0 });
    expect(handMergedPaths(s.get().paused, 'smart')).toEqual([]);
    expect(handMergedPaths(s.get().paused, 'manual')).toEqual(['a.txt']);
    await s.update((st) => resumeAfterManualSync(st, 'robust'));
    expect(paused()).not.toBeNull();
    await s.update((st) => resumeAfterManualSync(st, 'manual'));
    expect(paused()).toBeNull();
  });

  it('conflicts --resolve ends it only with the last conflict left for the user, and a guided merge only for its own file', async () => {
    const { store: s } = await store();
    expect(resolveEndsPause(null, 0, 'a.txt')).toBe(false);
    await pauseForConflicts(s, { paths: ['a.txt', 'b.txt'], op: 'op-1', at: t0 });
    expect(resolveEndsPause(s.get().paused, 1, 'a.txt')).toBe(false);
    expect(resolveEndsPause(s.get().paused, 0, 'b.txt')).toBe(true);
    await pauseForGuidedMerge(s, 'notes.md', t0);
    expect(s.get().paused?.reason).toBe('guided merge in progress: notes.md (conflicts --merge)');
    expect(resolveEndsPause(s.get().paused, 0, 'other.md')).toBe(false);
    expect(resolveEndsPause(s.get().paused, 0, 'notes.md')).toBe(true);
    expect(pausedMessage(s.get().paused!)).toContain(
      'while you merge notes.md (conflicts --merge); when it has what you want, run: sync-coordinator conflicts --resolve=notes.md',
    );
  });
});
