/**
 * Reconcile: inotify can drop events, so each process interval the daemon asks
 * `git status` itself and requests a sync when the tree is dirty and nothing else has
 * it in hand (the watcher has no pending changes and saw no event within a debounce
 * period, nothing is queued, no conflict waits for the user, syncs are not paused).
 * Still dirty after that request was served means the sync failed: the next check
 * backs off, doubling from the process interval up to MAX_RECONCILE_BACKOFF_MS.
 */
import type { Config } from '../shared/config.js';
import type { QueueEntry } from '../core/queue.js';
import { readState } from '../shared/state.js';
import type { Workspace } from '../git/workspace.js';
import { parseStatusZ } from '../git/status.js';
import type { Logger } from '../shared/log.js';
import type { Clock } from '../shared/clock.js';
import type { DaemonState } from '../core/daemon-state.js';
import type { WatcherStateView } from './daemon-watcher.js';

export const MAX_RECONCILE_BACKOFF_MS = 15 * 60_000;

export function createReconcile(o: {
  ws: Workspace;
  config: Config;
  clock: Clock;
  log: Logger;
  state: Pick<DaemonState, 'paused_reason'>;
  /** The running watcher's state; null without a watcher (nothing to reconcile against). */
  watcherState: (() => WatcherStateView) | null;
  /** The watcher's ignore rules, so git status reports nothing the watcher would skip. */
  ignores: ((relPath: string) => boolean) | null;
  request: (dirty: number) => Promise<void>;
}): (pending: QueueEntry[]) => Promise<void> {
  const { ws, config, clock, log, state } = o;
  const processMs = config.process_interval_s * 1000;
  let backoff = 0;
  let nextAt = 0;
  return async (pending) => {
    const watcherState = o.watcherState;
    if (!watcherState || state.paused_reason || clock.now() < nextAt) return;
    const w = watcherState();
    if (w.pending > 0) return; // the watcher has it in hand
    if (w.lastEventAt && clock.now() - Date.parse(w.lastEventAt) < config.debounce_ms + 1000) return;
    if (pending.length > 0) return;
    if ((await readState(ws.paths.state, null)).paused) return; // a conflict waits for the user
    const out = (await ws.git.run(['status', '--porcelain', '-z', '--untracked-files=normal'], { readOnly: true, timeoutMs: 60_000 })).stdout;
    const dirty = parseStatusZ(out)
      .map((e) => e.path)
      .filter((p) => !(o.ignores?.(p) ?? false));
    // An edit that arrived while git status ran belongs to the watcher's quiet period.
    const after = watcherState();
    if (after.pending > 0 || after.lastEventAt !== w.lastEventAt) return;
    if (dirty.length === 0) {
      backoff = 0;
      nextAt = 0;
      return;
    }
    backoff = backoff === 0 ? processMs : Math.min(backoff * 2, MAX_RECONCILE_BACKOFF_MS);
    nextAt = clock.now() + backoff;
    log.info({ dirty: dirty.length, first: dirty.slice(0, 3) }, 'work tree has changes the watcher did not report; requesting a sync');
    await o.request(dirty.length);
  };
}
