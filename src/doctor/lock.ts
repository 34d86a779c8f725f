/**
 * The workspace lock: free, held by a live sync, or left by a dead owner (the next sync
 * takes it over; release-lock frees it now). A live owner holding it far longer than
 * `stuck_timeout_s` is reported too. The verdict is the shared lock probe's; this module
 * only words it for `doctor`.
 */
import { describeOwner, type LockInspection } from '../core/lock.js';
import { judgeLockInspection, probeLock } from '../core/probes/lock-probe.js';
import type { StatePaths } from '../git/workspace.js';
import { ok, warn, type CheckResult } from './types.js';
import { shellWord } from '../shared/shell-word.js';

const NAME = 'lock';

export function judgeLock(ins: LockInspection, stuckTimeoutS: number, now = Date.now()): CheckResult {
  const { verdict, heldForS } = judgeLockInspection(ins, stuckTimeoutS, now);
  const owner = ins.owner;
  switch (verdict) {
    case 'free':
      return ok(NAME, 'free');
    case 'abandoned':
      if (!owner) {
        return warn(
          NAME,
          `held without an owner record for ${Math.round((ins.ageMs ?? 0) / 1000)} s (a process died while taking it); the next sync takes it over`,
          'sync-coordinator release-lock unknown',
        );
      }
      return warn(NAME, `held by dead owner ${describeOwner(owner)}; the next sync takes it over`, `sync-coordinator release-lock ${shellWord(owner.caller)}`);
    case 'draining':
      return warn(NAME, `owner ${describeOwner(owner)} is dead but a git it started still runs; the lock frees when that git exits`, null);
    case 'stuck':
      return warn(
        NAME,
        `held by live ${describeOwner(owner)} for ${heldForS} s (more than stuck_timeout_s ${stuckTimeoutS}); it may be hung`,
        `look at "sync-coordinator status" and the logs; if it is hung: kill ${owner?.pid ?? '<pid>'}`,
      );
    case 'held':
      return ok(NAME, `held by ${describeOwner(owner)}${owner && ins.ownerLiveness === 'unknown' ? ' (another host)' : ''}: a sync is running`);
  }
}

export async function checkLock(paths: StatePaths, staleMs: number, stuckTimeoutS: number): Promise<CheckResult> {
  return judgeLock((await probeLock(paths, staleMs, stuckTimeoutS)).inspection, stuckTimeoutS);
}
