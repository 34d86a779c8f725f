/**
 * Crash recovery (invariant 5): a rebase or merge that the coordinator started and did
 * not finish is found from its own marker in coordinator-state.json (op id, step,
 * branch, backup ref), not from git's rebase directory (a kill can leave a detached
 * HEAD with no rebase directory). It is aborted and the branch restored from the backup
 * ref. A user's own rebase is never touched: without our marker we do nothing here.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { LockHandle } from '../core/lock.js';
import { liveness } from '../core/process-identity.js';
import type { StateStore } from '../core/state.js';
import type { Workspace } from '../core/workspace.js';
import type { Logger } from '../log.js';

export async function recoverInterruptedOp(deps: { ws: Workspace; store: StateStore; logger: Logger; lock: LockHandle }): Promise<boolean> {
  const active = deps.store.get().active;
  if (!active) return false;
  if (active.pid === process.pid) return false;
  if (liveness({ pid: active.pid, start_time: active.start_time }) === 'alive') {
    // We hold the lock, so the recorded process is not syncing any more even if its pid lives on.
    deps.logger.warn({ op: active.op, pid: active.pid }, 'active operation recorded by a process that no longer holds the lock');
  }
  const git = deps.ws.git.withOp(active.op);
  const log = deps.logger.child({ op: active.op, recovery: true });
  await deps.lock.assertOwned();
  if (active.integrating && active.backup_ref && active.branch) {
    const paths = (await git.run(['rev-parse', '--git-path', 'rebase-merge', '--git-path', 'rebase-apply', '--git-path', 'MERGE_HEAD'], { readOnly: true })).stdout.split('\n');
    const abs = (p: string) => (isAbsolute(p) ? p : join(deps.ws.root, p));
    if (paths[0] && existsSync(abs(paths[0]))) await git.run(['rebase', '--abort'], { okCodes: [1, 128] });
    else if (paths[1] && existsSync(abs(paths[1]))) await git.run(['rebase', '--abort'], { okCodes: [1, 128] });
    else if (paths[2] && existsSync(abs(paths[2]))) await git.run(['merge', '--abort'], { okCodes: [1, 128] });
    // Back on the branch, at the backup (which holds every local change: the sync
    // committed them before it integrated).
    await git.run(['symbolic-ref', 'HEAD', `refs/heads/${active.branch}`]);
    await git.run(['reset', '--hard', '--quiet', active.backup_ref]);
    log.warn({ backup_ref: active.backup_ref, branch: active.branch, step: active.step }, 'recovered an interrupted sync: aborted its rebase/merge and restored the branch from the backup ref');
  } else {
    log.warn({ step: active.step }, 'previous sync was interrupted before it rewrote anything; nothing to restore');
  }
  await deps.store.update((s) => {
    s.stats.syncs_failed += 1;
    s.stats.last_error = `sync ${active.op} was interrupted at step ${active.step} and recovered`;
    s.active = null;
  });
  return true;
}
