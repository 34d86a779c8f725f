import { describe, expect, it } from 'vitest';
import { isUserPause, pauseBlocks, pausedMessage, resolveEndsPause, resumeAfterManualSync, USER_PAUSE_REASON } from '../../src/core/pause.js';
import { emptyState, type PauseState } from '../../src/shared/state.js';

const user: PauseState = { reason: USER_PAUSE_REASON, since: '2026-01-01T00:00:00.000Z', paths: [], op: null };
const conflict: PauseState = { reason: 'conflict left for manual resolution', since: '2026-01-01T00:00:00.000Z', paths: ['a.txt'], op: 'op1' };

describe("the user's pause", () => {
  it('holds automatic syncs, lets a manual one run without lifting it, and is not ended by resolving a conflict', () => {
    expect(isUserPause(user)).toBe(true);
    expect(isUserPause(conflict)).toBe(false);
    expect(pauseBlocks(user, 'smart')).toBe(true);
    expect(pauseBlocks(user, 'intelligent-auto')).toBe(true);
    expect(pauseBlocks(user, 'manual')).toBe(false);
    const s = { ...emptyState(), paused: user };
    resumeAfterManualSync(s, 'manual');
    expect(s.paused).toBe(user);
    const c = { ...emptyState(), paused: conflict };
    resumeAfterManualSync(c, 'manual');
    expect(c.paused).toBeNull(); // a conflict's pause still ends with a manual sync
    expect(resolveEndsPause(user, 0, 'a.txt')).toBe(false);
    expect(resolveEndsPause(conflict, 0, 'a.txt')).toBe(true);
    expect(pausedMessage(user)).toMatch(/paused by the user; they wait until resumed/);
  });
});
