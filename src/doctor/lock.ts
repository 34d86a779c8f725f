/**
 * The workspace lock: free, held by a live sync, or left by a dead owner (the next sync
 * takes it over; release-lock frees it now). A live owner holding it far longer than
 * `stuck_timeout_s` is reported too. Read-only: inspectLock only stats and reads.
 */
import { describeOwner, inspectLock, type LockInspection } from '../core/lock.js';
import type { StatePaths } from '../core/workspace.js';
import { ok, shellWord, warn, type CheckResult } from './types.js';

const NAME = 'lock';

export function judgeLock(ins: LockInspection, stuckTimeoutS: number, now = Date.now()): CheckResult {
  if (!ins.held) return ok(NAME, 'free');
  const owner = ins.owner;
  if (ins.stale) {
    if (!owner) {
      return warn(
        NAME,
        `held without an owner record for ${Math.round((ins.ageMs ?? 0) / 1000)} s (a process died while taking it); the next sync takes it over`,
        'sync-coordinator release-lock unknown',
      );
    }
    return warn(NAME, `held by dead owner ${describeOwner(owner)}; the next sync takes it over`, `sync-coordinator release-lock ${shellWord(owner.caller)}`);
  }
  if (owner && ins.ownerLiveness === 'dead') {
    return warn(NAME, `owner ${describeOwner(owner)} is dead but a git it started still runs; the lock frees when that git exits`, null);
  }
  const since = owner ? Date.parse(owner.since) : NaN;
  const heldS = Number.isNaN(since) ? null : Math.round((now - since) / 1000);
  if (heldS !== null && heldS > stuckTimeoutS) {
    return warn(
      NAME,
      `held by live ${describeOwner(owner)} for ${heldS} s (more than stuck_timeout_s ${stuckTimeoutS}); it may be hung`,
      `look at "sync-coordinator status" and the logs; if it is hung: kill ${owner?.pid ?? '<pid>'}`,
    );
  }
  return ok(NAME, `held by ${describeOwner(owner)}${owner && ins.ownerLiveness === 'unknown' ? ' (another host)' : ''}: a sync is running`);
}

export async function checkLock(paths: StatePaths, staleMs: number, stuckTimeoutS: number): Promise<CheckResult> {
  return judgeLock(await inspectLock(paths, staleMs), stuckTimeoutS);
}
