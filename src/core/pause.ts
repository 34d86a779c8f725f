/**
 * The pause of automatic syncs after a conflict left for the user (DESIGN section 5,
 * `user_conflict_policy: "manual"`) or during a guided merge (`conflicts --merge`): when
 * it starts, what it blocks, what it says, and what ends it (a successful manual sync,
 * or `conflicts --resolve` of the last path it waits for). The git pipeline only
 * reports the conflicts it left; this module decides.
 *
 * The user's own pause (`POST .../pause`, the dashboard's button) is the same record
 * with USER_PAUSE_REASON, so every processor holds automatic syncs while it is there
 * and it survives restarts; only `resume` ends it: a manual sync runs but does not lift
 * it, and resolving a conflict does not either.
 */
import type { SyncType } from '../shared/config.js';
import { conflictsCommand, GUIDED_MERGE_REASON, isGuidedMerge } from './guided-merge.js';
import type { CoordinatorState, PauseState, StateStore } from '../shared/state.js';

const MANUAL_CONFLICT_REASON = 'conflict left for manual resolution';
export const USER_PAUSE_REASON = 'paused by the user';

export function isUserPause(p: PauseState | null | undefined): boolean {
  return p?.reason === USER_PAUSE_REASON;
}

/** A sync left conflicts for the user: automatic syncs wait until they are merged. */
export async function pauseForConflicts(store: StateStore, left: { paths: string[]; op: string; at: number }): Promise<void> {
  const since = new Date(left.at).toISOString();
  await store.update((s) => {
    s.paused = { reason: MANUAL_CONFLICT_REASON, since, paths: left.paths, op: left.op };
  });
}

/** `conflicts --merge` wrote markers into `path` for the user to edit: no sync may spread them until it is resolved. */
export async function pauseForGuidedMerge(store: StateStore, path: string, at: number): Promise<void> {
  const since = new Date(at).toISOString();
  await store.update((s) => {
    s.paused = { reason: `${GUIDED_MERGE_REASON}: ${path} (conflicts --merge)`, since, paths: [path], op: null };
  });
}

/** Only a manual sync runs while paused: it is how the user pushes what they merged by hand. */
export function pauseBlocks(paused: PauseState | null, type: SyncType): paused is PauseState {
  return !!paused && type !== 'manual';
}

/** The paths a successful manual sync closes: the user merged them by hand. */
export function handMergedPaths(paused: PauseState | null, type: SyncType): string[] {
  return type === 'manual' ? (paused?.paths ?? []) : [];
}

/** Inside the state update after a successful sync: a manual one resumes automatic syncs. */
export function resumeAfterManualSync(s: CoordinatorState, type: SyncType): void {
  if (type === 'manual' && s.paused && !isUserPause(s.paused)) s.paused = null;
}

/**
 * `conflicts --resolve` of `path` (whose original is `original`) ends the pause when no
 * other conflict left for the user is still open (`othersLeft`), and a guided merge only
 * when it is this file's; conflict copies from other syncs do not hold it.
 */
export function resolveEndsPause(paused: PauseState | null, othersLeft: number, original: string): boolean {
  const guidedElsewhere = paused?.reason.startsWith(GUIDED_MERGE_REASON) && !paused.paths.includes(original);
  return !!paused && othersLeft === 0 && !guidedElsewhere && !isUserPause(paused);
}

/** Why automatic syncs wait, with a command that works when pasted (for the first path). */
export function pausedMessage(p: PauseState): string {
  if (isUserPause(p)) return `automatic syncs are ${USER_PAUSE_REASON}; they wait until resumed (POST .../resume or the dashboard); sync-now still syncs`;
  const first = p.paths[0];
  if (isGuidedMerge(p) && first)
    return `automatic syncs are paused while you merge ${first} (conflicts --merge); when it has what you want, run: ${conflictsCommand('--resolve', first)}`;
  const each = p.paths.length > 1 ? ' (then the same for each other path)' : '';
  return `automatic syncs are paused after a conflict left for manual resolution (${p.paths.join(', ')}); when you have merged it by hand, run: ${first ? conflictsCommand('--resolve', first) : 'sync-coordinator conflicts'}${each}`;
}
