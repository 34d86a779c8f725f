/**
 * Crash recovery. Integration happens in the object store and the user's files, index
 * and branch move once at the end (move.ts), so a killed sync leaves at most:
 * - git children of the dead sync, still running (settled here first);
 * - lock files its killed git left, or its own `index.lock` from the move (removed when
 *   no live git works in the repository, and logged);
 * - private index files and unreferenced objects (swept; git gc takes the objects);
 * - a move cut short after the branch moved: the user's index still describes the old
 *   commit. The marker (`active.moving`) says which paths to bring up to date.
 * Remote changes written to the work tree before a kill are committed by the next sync
 * and found already on the remote by its three-way merge, so nothing is reverted.
 *
 * Called under the lock before any sync runs. If recovery cannot finish, the marker
 * stays set and the next run tries again. The interrupted sync itself is retried by the
 * next sync (its requests are still queued).
 */
import { withdrawConflictsOfOp } from './conflict-log.js';
import { removeDeadGitLocks } from './git-lock-files.js';
import { processesOfOp } from '../shared/proc-scan.js';
import { liveness } from '../shared/process-identity.js';
import { SyncFailedError } from '../shared/errors.js';
import type { MovingMarker, StateStore } from '../shared/state.js';
import type { Workspace } from './workspace.js';
import type { Logger } from '../shared/log.js';
import type { Git } from './git.js';
import { lockUserIndex, privateIndexPath, readUserIndex, removeQuiet, sweepPrivateFiles, writePrivateIndex } from './index-file.js';
import { adoptWritten } from './move.js';
import { headBranchFromFile, integrationInProgress } from './preflight.js';
import { readRef } from './refs.js';
import { EMPTY_TREE } from './rev.js';

/** All recovery needs of the coordinator's lock (core/lock.ts's LockHandle is one): is it still ours. */
export interface HeldLock {
  /** Throws unless the lock is still ours; recovery checks before each step that writes. */
  assertOwned(): Promise<void>;
}

const WAIT_FOR_ORPHANS_MS = 10_000;

export async function recoverInterruptedOp(deps: { ws: Workspace; store: StateStore; logger: Logger; lock: HeldLock }): Promise<boolean> {
  const active = deps.store.get().active;
  if (!active) return false;
  // Our own op is still running only if it left no marker (runBatch keeps the marker of
  // an unfinished move for us): we hold the lock, so no op of this process runs now.
  if (active.pid === process.pid && !active.moving && !active.integrating) return false;
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
  const removed = await removeDeadGitLocks(deps.ws, log);
  await sweepPrivateFiles(deps.ws.gitDir, null);

  const done: string[] = [];
  if (removed.length) done.push(`removed ${removed.length} lock file(s) its git left`);
  if (active.moving && active.branch) {
    await deps.lock.assertOwned();
    if (await completeFileMove(git, deps.ws, active.branch, active.moving, log))
      done.push('finished moving your files, index and branch to the commit it had built');
    if (await completeIndex(git, deps.ws, active.branch, active.moving, log)) done.push('brought your index up to date with the branch');
  }
  if (active.integrating) {
    const ip = integrationInProgress(deps.ws.gitDir);
    // An older version rebased in the work tree. Its rebase is left to the user, who
    // sees it in `git status` (preflight refuses to sync while it is in progress).
    if (ip.rebaseDir || ip.mergeHead)
      done.push(
        `a ${ip.rebaseDir ? 'rebase' : 'merge'} started by an older version is in progress; finish or abort it ("git ${ip.rebaseDir ? 'rebase' : 'merge'} --abort")`,
      );
    withdrawConflictsOfOp(deps.ws.paths.conflictsLog, active.op, new Date().toISOString());
  }
  const what = done.length ? done.join('; ') : 'nothing to restore';
  log.warn({ step: active.step, branch: active.branch }, `recovered an interrupted sync: ${what}`);
  const ownLeftover = active.pid === process.pid; // already counted as failed by its own batch
  await deps.store.update((s) => {
    if (!ownLeftover) s.stats.syncs_failed += 1;
    s.stats.last_error = `sync ${active.op} was interrupted at step ${active.step} and recovered (${what})`;
    s.active = null;
  });
  return true;
}

/**
 * The move was cut short before the branch moved: the work tree holds some, all or none
 * of `moving.to`'s files (none to move when it was the sync's own commit, which an
 * optimistic push may already have published) while the branch and the user's index are
 * still at `moving.base`. Left so, the next sync would commit the remote's content it finds there
 * as this device's own change and publish it again over whatever the remote did since (a
 * later delete undone, a later rewrite reverted). So the move is finished here, as the
 * sync would have: files already at the target's content are the target's, files with
 * any other content are taken as edits made on top of it (kept as they are), the rest
 * are written by a two-way `read-tree -m -u`, the branch moves with a compare-and-swap
 * from `base`, and the new index replaces the user's. If git refuses, nothing changes.
 */
async function completeFileMove(git: Git, ws: Workspace, branch: string, moving: MovingMarker, log: Logger): Promise<boolean> {
  const from = moving.worktree ?? moving.base;
  if (!moving.base || !from || headBranchFromFile(ws.gitDir) !== branch) return false;
  const ref = `refs/heads/${branch}`;
  if ((await branchOid(git, ws, branch)) !== moving.base) return false;
  const current = await readUserIndex(ws.gitDir);
  if (current.digest !== moving.index_digest) return false;
  const lock = await lockUserIndex(ws.gitDir);
  const file = privateIndexPath(ws.gitDir, 'recovery', 'move');
  const env = { GIT_INDEX_FILE: file };
  try {
    await writePrivateIndex(file, current);
    if (from !== moving.base) {
      // The sync's own commit: its paths take its entries (the work tree already has them).
      const committed = (await git.run(['diff-tree', '-r', '--no-renames', '-z', '--name-only', moving.base, from], { readOnly: true })).stdout
        .split('\0')
        .filter(Boolean);
      if (committed.length)
        await git.run(['reset', '-q', from, '--pathspec-from-file=-', '--pathspec-file-nul'], {
          env,
          literalPaths: true,
          input: committed.map((p) => `${p}\0`).join(''),
          okCodes: [1],
        });
    }
    // No file to move (the sync's own commit, maybe already pushed): the branch and the
    // index still have to follow, or a file deleted since would come back from the remote.
    const filesMove = from !== moving.to;
    const adopted = filesMove ? await adoptWritten(git, env, from, moving.to, 'all') : [];
    await git.run(['update-index', '-q', '--refresh'], { env, okCodes: [1] });
    if (filesMove) {
      const moved = await git.run(['read-tree', '-m', '-u', from, moving.to], { env, okCodes: [128] });
      if (moved.code !== 0) return false;
    }
    const cas = await git.run(['update-ref', '-m', 'sync-coordinator: complete an interrupted move (recovery)', ref, moving.to, moving.base], {
      okCodes: [128],
    });
    if (cas.code !== 0) {
      if (filesMove) await git.run(['read-tree', '-m', '-u', moving.to, from], { env, okCodes: [128] }).catch(() => {});
      return false;
    }
    await lock.commit(file);
    log.warn(
      { from: moving.base, to: moving.to, already_written: adopted.length },
      'the interrupted sync had begun moving the files of its new commit but not the branch; finished the move (files you changed since are kept as your edits)',
    );
    return true;
  } finally {
    await lock.release();
    await removeQuiet(file, `${file}.lock`, `${file}-check`, `${file}-check.lock`);
  }
}

/**
 * The move was cut short after the branch moved (`moving.to`) and before the new index
 * replaced the user's (its digest is still the old one): give the paths that differ
 * between `moving.base` and `moving.to` the branch's entries. Files are not written.
 */
async function completeIndex(git: Git, ws: Workspace, branch: string, moving: MovingMarker, log: Logger): Promise<boolean> {
  if (headBranchFromFile(ws.gitDir) !== branch) return false;
  if ((await branchOid(git, ws, branch)) !== moving.to) return false;
  const current = await readUserIndex(ws.gitDir);
  if (current.digest !== moving.index_digest) return false;
  const diff = await git.run(['diff-tree', '-r', '--no-renames', '-z', '--name-only', moving.base ?? EMPTY_TREE, moving.to], { readOnly: true });
  const paths = diff.stdout.split('\0').filter(Boolean);
  if (paths.length === 0) return false;
  const lock = await lockUserIndex(ws.gitDir);
  const file = privateIndexPath(ws.gitDir, 'recovery', 'index');
  try {
    await writePrivateIndex(file, await readUserIndex(ws.gitDir));
    const env = { GIT_INDEX_FILE: file };
    await git.run(['reset', '-q', moving.to, '--pathspec-from-file=-', '--pathspec-file-nul'], {
      env,
      literalPaths: true,
      input: paths.map((p) => `${p}\0`).join(''),
      okCodes: [1],
    });
    await git.run(['update-index', '-q', '--refresh'], { env, okCodes: [1] });
    await lock.commit(file);
    log.warn({ paths: paths.length }, 'the interrupted sync had moved the branch but not your index; brought the index up to date (files untouched)');
    return true;
  } finally {
    await lock.release();
    await removeQuiet(file, `${file}.lock`);
  }
}

async function settleOrphans(op: string, log: Logger): Promise<void> {
  let deadline = Date.now() + WAIT_FOR_ORPHANS_MS;
  let signalled = false;
  for (;;) {
    const pids = processesOfOp(op);
    if (pids.length === 0) return;
    if (Date.now() > deadline) {
      if (signalled)
        throw new SyncFailedError(`git processes of the interrupted sync ${op} are still running (pids ${pids.join(', ')}); recovery will try again`, {
          code: 'ERECOVERY',
        });
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

/** The branch's oid: from git's ref files, or from git when they do not have it. */
async function branchOid(git: Git, ws: Workspace, branch: string): Promise<string> {
  const ref = `refs/heads/${branch}`;
  return (await readRef(ws.commonDir, ref)) ?? (await git.run(['rev-parse', '--verify', '-q', ref], { readOnly: true, okCodes: [1] })).stdout.trim();
}
