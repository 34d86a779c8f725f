/**
 * Crash recovery (invariant 5): a rebase or merge that the coordinator started and did
 * not finish is found from its own marker in coordinator-state.json (op id, step,
 * branch, backup ref), not from git's rebase directory (a kill can leave a detached
 * HEAD with no rebase directory). Called under the lock before any sync runs.
 *
 * What the marker can meet, and what happens:
 * - a rebase in progress whose `orig-head` is our backup and whose branch is ours: our
 *   rebase. Abort it and restore the branch from the backup ref;
 * - a merge in progress on our branch with HEAD still at our backup: ours, likewise;
 * - any other rebase/merge in progress: the user's own (started after our crash). Hands
 *   off: clear our marker and touch nothing (preflight then refuses to sync);
 * - no rebase/merge but a detached HEAD: a kill between git's last steps. Put HEAD back
 *   on the branch (at the branch's tip, which is the backup or our finished rebase);
 * - on the branch, nothing in progress: the integration finished or never began;
 *   nothing to restore.
 * Work-tree edits made while the sync lay dead (or while recovery runs) are saved in a
 * snapshot ref and never overwritten (restore.ts), so recovery never discards a change.
 * If recovery cannot finish, the marker stays set and the next run tries again. The
 * interrupted sync itself is simply retried by the next sync (its requests are still
 * queued).
 */
import { withdrawConflictsOfOp } from '../core/conflict-log.js';
import type { LockHandle } from '../core/lock.js';
import { processesOfOp } from '../core/lock.js';
import { liveness } from '../core/process-identity.js';
import { SyncFailedError } from '../core/errors.js';
import type { StateStore } from '../core/state.js';
import type { Workspace } from '../core/workspace.js';
import type { Logger } from '../log.js';
import { currentBranch, integrationInProgress } from './preflight.js';
import { rebaseIsOurs, restoreBranch } from './restore.js';

const WAIT_FOR_ORPHANS_MS = 10_000;

export async function recoverInterruptedOp(deps: { ws: Workspace; store: StateStore; logger: Logger; lock: LockHandle }): Promise<boolean> {
  const active = deps.store.get().active;
  if (!active) return false;
  // Our own op is still running only if it is not an unfinished integration whose
  // cleanup failed (runBatch keeps that marker for us): we hold the lock, so no op of
  // this process runs now.
  if (active.pid === process.pid && !active.integrating) return false;
  if (liveness({ pid: active.pid, start_time: active.start_time }) === 'alive') {
    // We hold the lock, so the recorded process is not syncing any more even if its pid lives on.
    deps.logger.warn({ op: active.op, pid: active.pid }, 'active operation recorded by a process that no longer holds the lock');
  }
  const log = deps.logger.child({ op: active.op, recovery: true });
  const git = deps.ws.git.withOp(active.op, { logger: log });
  await deps.lock.assertOwned();
  // Our git children run in their own process groups and can outlive a killed
  // coordinator: let them finish (or stop them) before touching the repository.
  await settleOrphans(active.op, log);

  let what = 'nothing to restore';
  let restored = false;
  if (active.integrating && active.backup_ref && active.branch) {
    const loc = { root: deps.ws.root, gitDir: deps.ws.gitDir };
    const backup = (await git.run(['rev-parse', '--verify', '-q', `${active.backup_ref}^{commit}`], { readOnly: true, okCodes: [1] })).stdout.trim();
    const ip = integrationInProgress(deps.ws.gitDir);
    const branch = await currentBranch(git);
    const headSha = (await git.run(['rev-parse', '--verify', '-q', 'HEAD'], { readOnly: true, okCodes: [1] })).stdout.trim();
    if (!backup) {
      what = `backup ref ${active.backup_ref} is missing; left the repository as it is`;
      log.error({ backup_ref: active.backup_ref }, what);
    } else if (ip.rebaseDir) {
      if (rebaseIsOurs(ip.rebaseDir, backup, active.branch)) {
        await deps.lock.assertOwned();
        await restoreBranch(git, loc, { branch: active.branch, target: backup, opId: active.op, logger: log });
        restored = true;
        what = 'aborted its rebase and restored the branch from the backup ref';
      } else {
        what = 'a rebase that is not ours is in progress; left it alone';
      }
    } else if (ip.mergeHead) {
      if (branch === active.branch && headSha === backup) {
        await deps.lock.assertOwned();
        await restoreBranch(git, loc, { branch: active.branch, target: backup, opId: active.op, logger: log });
        restored = true;
        what = 'aborted its merge and restored the branch from the backup ref';
      } else {
        what = 'a merge that is not ours is in progress; left it alone';
      }
    } else if (branch === null) {
      const tip = (await git.run(['rev-parse', '--verify', '-q', `refs/heads/${active.branch}^{commit}`], { readOnly: true, okCodes: [1] })).stdout.trim();
      await deps.lock.assertOwned();
      await restoreBranch(git, loc, { branch: active.branch, target: tip || backup, opId: active.op, logger: log });
      restored = !tip || tip === backup;
      what = 'HEAD was detached with no rebase in progress; put it back on the branch';
    }
    if (restored) withdrawConflictsOfOp(deps.ws.paths.conflictsLog, active.op, new Date().toISOString());
    log.warn({ backup_ref: active.backup_ref, branch: active.branch, step: active.step }, `recovered an interrupted sync: ${what}`);
  } else {
    log.warn({ step: active.step }, 'previous sync was interrupted before it rewrote anything; nothing to restore');
  }
  const ownLeftover = active.pid === process.pid; // already counted as failed by its own batch
  await deps.store.update((s) => {
    if (!ownLeftover) s.stats.syncs_failed += 1;
    s.stats.last_error = `sync ${active.op} was interrupted at step ${active.step} and recovered (${what})`;
    s.active = null;
  });
  return true;
}

async function settleOrphans(op: string, log: Logger): Promise<void> {
  let deadline = Date.now() + WAIT_FOR_ORPHANS_MS;
  let signalled = false;
  for (;;) {
    const pids = processesOfOp(op);
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      if (signalled) throw new SyncFailedError(`git processes of the interrupted sync ${op} are still running (pids ${pids.join(', ')}); recovery will try again`, { code: 'ERECOVERY' });
      // SIGTERM, never SIGKILL: git removes its own lock files on SIGTERM.
      log.warn({ pids }, 'stopping git processes left by the interrupted sync');
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      signalled = true;
      deadline = Date.now() + 5_000;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
