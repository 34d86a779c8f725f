/**
 * Setting and lifting the user's own pause (`POST .../pause` and `.../resume`) under
 * the workspace lock, as every writer of coordinator-state.json does. What the pause
 * means (what it blocks, what ends it) is in pause.ts with the other pauses.
 */
import type { Config } from '../shared/config.js';
import { acquireLock } from './lock.js';
import { isUserPause, USER_PAUSE_REASON } from './pause.js';
import { openStateStore, type PauseState } from '../shared/state.js';
import type { Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';

export type PauseChange = { changed: boolean; paused: PauseState | null; blockedBy?: PauseState };

/**
 * Set (`pause`) or clear (`resume`) the user's pause, under the workspace lock (the
 * state file is the coordinator's, written under the lock). A pause for a conflict is
 * neither replaced nor lifted here: it comes back as `blockedBy`.
 */
export async function setUserPause(o: { ws: Workspace; config: Config; logger: Logger; pause: boolean; caller: string }): Promise<PauseChange> {
  const lock = await acquireLock(
    { paths: o.ws.paths, logger: o.logger, staleMs: o.config.lock_stale_ms, repo: o.ws },
    { caller: o.caller, timeoutMs: o.config.lock_timeout_ms },
  );
  try {
    const store = await openStateStore(o.ws.paths.state, o.logger);
    const current = store.get().paused;
    if (current && !isUserPause(current)) return { changed: false, paused: current, blockedBy: current };
    if (o.pause === !!current) return { changed: false, paused: current };
    const next: PauseState | null = o.pause ? { reason: USER_PAUSE_REASON, since: new Date().toISOString(), paths: [], op: null } : null;
    await store.update((s) => {
      s.paused = next;
    });
    o.logger.info({ caller: o.caller, paused: o.pause }, o.pause ? 'automatic syncs paused by the user' : 'automatic syncs resumed by the user');
    return { changed: true, paused: next };
  } finally {
    await lock.release();
  }
}
