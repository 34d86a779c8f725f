/**
 * The one lock probe, shared by the daemon's health check and `doctor`: what state the
 * workspace lock is in, judged the same way for both. Read-only: inspectLock only stats
 * and reads; a dead owner's lock is taken over by the next sync, not here.
 */
import { inspectLock, type LockInspection } from '../lock.js';
import type { StatePaths } from '../../git/workspace.js';

/**
 * - `free`: nobody holds it.
 * - `abandoned`: the owner is provably dead (or no owner record and older than lock_stale_ms): the next sync takes it over.
 * - `draining`: the owner is dead but a git it started still runs; the lock frees when that git exits.
 * - `stuck`: a live owner has held it longer than stuck_timeout_s.
 * - `held`: a sync is running.
 */
export type LockVerdict = 'free' | 'abandoned' | 'draining' | 'stuck' | 'held';

export interface LockProbe {
  verdict: LockVerdict;
  inspection: LockInspection;
  /** Seconds since the owner took it (null when there is no readable owner record). */
  heldForS: number | null;
}

export function judgeLockInspection(ins: LockInspection, stuckTimeoutS: number, now = Date.now()): LockProbe {
  const since = ins.owner ? Date.parse(ins.owner.since) : NaN;
  const heldForS = Number.isNaN(since) ? null : Math.round((now - since) / 1000);
  const verdict: LockVerdict = !ins.held
    ? 'free'
    : ins.stale
      ? 'abandoned'
      : ins.owner && ins.ownerLiveness === 'dead'
        ? 'draining'
        : heldForS !== null && heldForS > stuckTimeoutS
          ? 'stuck'
          : 'held';
  return { verdict, inspection: ins, heldForS };
}

export async function probeLock(paths: StatePaths, staleMs: number, stuckTimeoutS: number, now = Date.now()): Promise<LockProbe> {
  return judgeLockInspection(await inspectLock(paths, staleMs), stuckTimeoutS, now);
}
