/**
 * Integrating the remote (DESIGN.md section 5): fast-forward when we have nothing of our
 * own, otherwise rebase our commits onto the remote, falling back to a merge where a
 * rebase cannot apply (local history with merge commits, which a rebase would flatten,
 * or a rebase that fails to start). Conflicts are resolved per path by the policy in
 * resolve.ts; with `user_conflict_policy: "manual"` the sync is undone instead.
 *
 * Before every rewrite a backup ref is saved and the crash-recovery marker set; the
 * marker is cleared only once the branch is in a consistent state again, so a crash or
 * a failed cleanup leaves it for recovery.
 */
import { appendConflict, withdrawConflictsOfOp, type ConflictRecord } from '../core/conflict-log.js';
import { ConflictError, SyncFailedError } from '../core/errors.js';
import { saveBackup } from './backup.js';
import { toSyncError } from './classify.js';
import type { Git } from './git.js';
import { GitError } from './git-error.js';
import { assertCommittable, assertHeadClean, type ConflictTracker } from './markers.js';
import type { SyncContext } from './pipeline.js';
import { parseUnmerged, planStop, resolveStop, systemMatcher, type Integration } from './resolve.js';
import { integrationInProgress } from './preflight.js';
import { restoreBranch, type RepoLocation } from './restore.js';

import { aheadBehind, COMMIT_CONFIG } from './rev.js';

export { aheadBehind, COMMIT_CONFIG };
/** The user's config must not change how our rebase behaves. */
const REBASE_CONFIG = [...COMMIT_CONFIG, 'rerere.enabled=false', 'rebase.autoStash=false', 'rebase.autoSquash=false', 'rebase.updateRefs=false', 'rebase.missingCommitsCheck=ignore'];
const MERGE_CONFIG = [...COMMIT_CONFIG, 'rerere.enabled=false', 'merge.autoStash=false'];
/** `--continue` opens an editor for the message; ours accepts it unchanged. */
const EDITOR_ENV = { GIT_EDITOR: 'true', GIT_MERGE_AUTOEDIT: 'no' };

/** What the repository looked like before this sync touched it (for the `manual` restore). */
export interface PreSync {
  /** HEAD before the sync (null: unborn branch). */
  head: string | null;
  /** The index as a tree before `add -A` (null: not taken; '' : could not be taken). */
  indexTree: string | null;
  /** The sync's own commit of local changes (null when there was nothing to commit). */
  commit: string | null;
  /** The sync committed local changes: then the first backup (taken right after) is that commit. */
  committed: boolean;
  /** Preflight's status was consumed by a commit attempt (a retry reads status again). */
  statusUsed?: boolean;
}

export interface SyncRun {
  /** Device name for conflict copies and messages. */
  device: string;
  /** Wall clock (the coordinator's, so tests can pass one). */
  now: () => number;
  remote: string;
  branch: string;
  remoteRef: string;
  pre: PreSync;
  /** Paths in conflict during this sync and the blobs allowed at them (invariant 4). */
  tracker: ConflictTracker;
  chosenCopies: Set<string>;
  /** Conflict records of integrations that completed (logged by the pipeline). */
  records: ConflictRecord[];
}

/** Thrown inside an integration when the `manual` policy must undo the sync. */
class LeaveForUser extends Error {
  constructor(readonly paths: Array<{ path: string; kind: ConflictRecord['kind'] }>) {
    super('conflict left for the user');
  }
}

function location(ctx: SyncContext): RepoLocation {
  return { root: ctx.ws.root, gitDir: ctx.ws.gitDir };
}

/** A git client for cleanup: same op id, but not stopped by the op's (maybe aborted) signal. */
function cleanupGit(ctx: SyncContext): Git {
  return ctx.ws.git.withOp(ctx.opId, { logger: ctx.logger });
}

/**
 * Integrates remote commits if there are any. `ahead` is how many local commits the
 * remote lacks afterwards when known without asking git again (null: ask).
 */
export async function integrateRemote(ctx: SyncContext, run: SyncRun, known?: { ahead: number; behind: number }): Promise<{ pulled: boolean; ahead: number | null }> {
  const { git } = ctx;
  const { ahead, behind } = known ?? (await aheadBehind(git, run.remoteRef));
  if (behind === 0) return { pulled: false, ahead };
  const fastForward = ahead === 0;
  const backup = await saveBackup(git, ctx.opId, fastForward ? 'fast-forward' : 'rebase');
  const backupSha = (await git.run(['rev-parse', '--verify', backup], { readOnly: true })).stdout.trim();
  // The backup is HEAD right after the sync's own commit: that commit, for `manual`.
  if (run.pre.committed && !run.pre.commit) run.pre.commit = backupSha;
  const merges = fastForward ? 0 : Number((await git.run(['rev-list', '--merges', '--count', `${run.remoteRef}..HEAD`], { readOnly: true })).stdout.trim());
  let how: Integration = merges > 0 ? 'merge' : 'rebase';
  await ctx.mark({ integrating: fastForward || how === 'merge' ? 'merge' : 'rebase', backup_ref: backup, branch: run.branch });
  const records: ConflictRecord[] = [];
  try {
    if (fastForward) {
      await git.run(['merge', '--ff-only', '--no-edit', run.remoteRef], { config: MERGE_CONFIG });
    } else {
      let applied = how === 'rebase' ? await rebaseWithPolicy(ctx, run, records) : false;
      if (!applied) {
        if (how === 'rebase') {
          ctx.logger.warn({}, 'rebase could not apply; restoring and merging instead');
          await restoreBranch(cleanupGit(ctx), location(ctx), { branch: run.branch, target: backupSha, opId: ctx.opId, logger: ctx.logger });
          withdrawConflictsOfOp(ctx.ws.paths.conflictsLog, ctx.opId, new Date(run.now()).toISOString());
          records.length = 0;
          how = 'merge';
          await ctx.mark({ integrating: 'merge', backup_ref: backup, branch: run.branch });
        }
        applied = await mergeWithPolicy(ctx, run, records);
        if (!applied) throw new SyncFailedError('could not integrate the remote: neither rebase nor merge applied', { code: 'EINTEGRATE' });
      }
      await assertHeadClean(git, run.tracker);
    }
  } catch (e) {
    await undo(ctx, run, { ref: backup, sha: backupSha }, e);
  }
  await markDone(ctx, backup, run.branch);
  run.records.push(...records);
  ctx.logger.info({ how: fastForward ? 'fast-forward' : how, conflicts: records.length, backup }, 'integrated the remote');
  return { pulled: true, ahead: fastForward ? 0 : null };
}

async function markDone(ctx: SyncContext, backup: string, branch: string): Promise<void> {
  await ctx.mark({ integrating: null, backup_ref: backup, branch });
}

/**
 * The integration failed: put the branch back and rethrow. For the `manual` policy, also
 * undo the sync's own commit so the work tree, index and HEAD are as before the sync.
 * If the cleanup itself fails, the recovery marker stays set for the next run.
 */
async function undo(ctx: SyncContext, run: SyncRun, backup: { ref: string; sha: string }, e: unknown): Promise<never> {
  const git = cleanupGit(ctx);
  const loc = location(ctx);
  const manual = e instanceof LeaveForUser;
  // manual: back to the state before this sync (its commit, or the pre-sync HEAD);
  // otherwise: back to before this integration attempt.
  const target = manual ? (run.pre.commit ?? run.pre.head ?? backup.sha) : backup.sha;
  try {
    await restoreBranch(git, loc, { branch: run.branch, target, opId: ctx.opId, logger: ctx.logger });
    withdrawConflictsOfOp(ctx.ws.paths.conflictsLog, ctx.opId, new Date(run.now()).toISOString());
    if (manual && run.pre.commit && run.pre.head) {
      // Un-commit the sync's own commit: HEAD back to the pre-sync commit, the index back
      // to the pre-sync index; the work tree is not touched (it already is the pre-sync
      // tree). The commit stays reachable from this op's backup ref.
      await git.run(['reset', '--soft', '--quiet', run.pre.head]);
      if (run.pre.indexTree) await git.run(['read-tree', run.pre.indexTree]);
      await git.run(['update-index', '-q', '--refresh'], { okCodes: [1] });
    }
  } catch (cleanupError) {
    ctx.logger.error({ err: (cleanupError as Error).message }, 'could not restore the branch after a failed integration; the next run recovers it from the backup ref');
    throw toSyncError(e, { step: 'integrate', network: false });
  }
  // Consistent again: clear the marker (if the lock is gone this fails and recovery,
  // finding the branch consistent, only clears it).
  await markDone(ctx, backup.ref, run.branch).catch(() => {});
  if (manual) {
    const paths = e.paths.map((p) => p.path);
    const time = new Date(run.now()).toISOString();
    for (const { path, kind } of e.paths) {
      appendConflict(ctx.ws.paths.conflictsLog, { time, op: ctx.opId, path, policy: 'manual', outcome: 'left-for-user', copy_path: null, kind, device: run.device });
    }
    await ctx.state.update((s) => {
      s.paused = { reason: 'conflict left for manual resolution', since: time, paths, op: ctx.opId };
    });
    throw new ConflictError(
      `conflict in ${paths.length} file(s) (${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', ...' : ''}) left for you (user_conflict_policy "manual"): the sync was undone and the work tree is as before; merge the remote by hand (e.g. "git pull --rebase"), then run "sync-coordinator conflicts --resolve <path>" for each file or "sync-now". Automatic syncs are paused until then.`,
      paths,
    );
  }
  throw toSyncError(e, { step: 'integrate', network: false });
}

/** Rebase our commits onto the remote, resolving each stop. False: the rebase could not start. */
async function rebaseWithPolicy(ctx: SyncContext, run: SyncRun, records: ConflictRecord[]): Promise<boolean> {
  const { git } = ctx;
  const commits = Number((await git.run(['rev-list', '--count', `${run.remoteRef}..HEAD`], { readOnly: true })).stdout.trim());
  let res = await git.run(['rebase', '--merge', '--no-autosquash', '--no-autostash', run.remoteRef], { okCodes: [1], config: REBASE_CONFIG });
  for (let stops = 0; ; stops++) {
    const ip = integrationInProgress(ctx.ws.gitDir);
    if (!ip.rebaseDir) {
      if (res.code === 0) return true;
      if (stops > 0) throw new SyncFailedError(`rebase --continue failed: ${(res.stderr || res.stdout).trim().slice(0, 300)}`, { code: 'EINTEGRATE' });
      const err = toSyncError(new GitError(['rebase'], res.code, res.stdout, res.stderr, 'exit'), { step: 'integrate', network: false });
      if (err instanceof SyncFailedError && err.code === 'EGIT') return false; // could not start: try a merge
      throw err;
    }
    if (stops > commits + 1) throw new SyncFailedError('rebase did not finish after resolving every commit', { code: 'EINTEGRATE' });
    await resolveCurrentStop(ctx, run, 'rebase', `${res.stdout}\n${res.stderr}`, records);
    await assertCommittable(git, run.tracker, 'continue the rebase');
    res = await git.run(['rebase', '--continue'], { okCodes: [1], env: EDITOR_ENV, config: [...REBASE_CONFIG, 'core.editor=true'] });
  }
}

/** Merge the remote (merge commit), resolving conflicts. False: the merge could not start. */
async function mergeWithPolicy(ctx: SyncContext, run: SyncRun, records: ConflictRecord[]): Promise<boolean> {
  const { git } = ctx;
  const message = `sync(${ctx.type}): merge ${run.remote}/${run.branch} on ${run.device}\n\nSync-Op: ${ctx.opId}\n`;
  const res = await git.run(['merge', '--no-ff', '--no-edit', '-m', message, run.remoteRef], { okCodes: [1], config: MERGE_CONFIG, env: EDITOR_ENV });
  const ip = integrationInProgress(ctx.ws.gitDir);
  if (!ip.mergeHead) {
    if (res.code === 0) return true;
    const err = toSyncError(new GitError(['merge'], res.code, res.stdout, res.stderr, 'exit'), { step: 'integrate', network: false });
    throw err;
  }
  await resolveCurrentStop(ctx, run, 'merge', `${res.stdout}\n${res.stderr}`, records);
  await assertCommittable(git, run.tracker, 'commit the merge');
  await git.run(['commit', '--quiet', '--cleanup=strip', '-F', '-'], { input: message, config: COMMIT_CONFIG, env: EDITOR_ENV });
  return true;
}

async function resolveCurrentStop(ctx: SyncContext, run: SyncRun, how: Integration, output: string, records: ConflictRecord[]): Promise<void> {
  const { git } = ctx;
  const unmerged = parseUnmerged((await git.run(['ls-files', '-u', '-z'], { readOnly: true })).stdout);
  if (unmerged.length === 0) {
    // `rebase --continue` refuses while any tracked file differs from the index, and then
    // says "You must edit all merge conflicts and then mark them as resolved using git
    // add" although no conflict is left: somebody edited, deleted or renamed a file while
    // the rebase was stopped. Say so; the undo that follows keeps those changes.
    const edited = (await git.run(['diff', '--name-only', '--no-renames', '-z'], { readOnly: true })).stdout.split('\0').filter(Boolean);
    if (edited.length > 0) {
      const names = `${edited.slice(0, 5).join(', ')}${edited.length > 5 ? ', ...' : ''}`;
      throw new SyncFailedError(
        `the ${how} could not go on: ${edited.length} tracked file(s) changed in the work tree while it was stopped on a conflict (${names}), and git continues only over unchanged files; the integration is undone, the changes stay in the work tree, and the next sync commits them`,
        { code: 'EWORKTREE' },
      );
    }
    throw new SyncFailedError(`the ${how} stopped without a conflict: ${output.trim().split('\n').slice(-2).join(' | ').slice(0, 300)}`, { code: 'EINTEGRATE' });
  }
  await ctx.step('resolve');
  const isSystem = systemMatcher(ctx.config.system_files);
  const plan = planStop(unmerged, isSystem);
  if (ctx.config.user_conflict_policy === 'manual' && plan.userPaths.length > 0) {
    const kinds = new Map(unmerged.map((u) => [u.path, u.ours && u.theirs ? (u.base ? 'content' : 'add-add') : 'delete-modify'] as const));
    throw new LeaveForUser(plan.userPaths.map((path) => ({ path, kind: kinds.get(path) ?? 'other' })));
  }
  const found = await resolveStop(unmerged, {
    git,
    root: ctx.ws.root,
    how,
    isSystem,
    device: run.device,
    opId: ctx.opId,
    now: new Date(run.now()),
    output,
    tracker: run.tracker,
    chosen: run.chosenCopies,
  });
  records.push(...found);
  // Logged now, before `--continue` commits the copies: a kill after that commit must not
  // leave copies that `conflicts` never shows. An undo withdraws them (withdrawConflictsOfOp).
  for (const rec of found) appendConflict(ctx.ws.paths.conflictsLog, rec);
  ctx.logger.info({ how, conflicts: found.map((r) => ({ path: r.path, outcome: r.outcome, copy: r.copy_path, kind: r.kind })) }, 'resolved conflicts');
}
