/**
 * Moving the branch, index and work tree to what the sync built, once per round: behind
 * a durable recovery marker (so a crash mid-move is completed by the next sync), with
 * the local commit landing even when a later step fails (invariant 4: nothing lost),
 * and conflict records withdrawn for copies that never reached the work tree.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { appendConflict, type ConflictRecord } from './conflict-log.js';
import { existsNoFollow } from '../shared/exists-no-follow.js';
import { retryPolicy, withRetry } from '../shared/retry.js';
import { type IndexSnapshot, readUserIndex } from './index-file.js';
import type { LocalCommit } from './local-commit.js';
import { moveToTarget } from './move.js';
import { headBranchFromFile } from './preflight.js';
import { localOptions } from './step-retry.js';
import type { RunState, SyncContext } from './sync-context.js';

export async function moveTo(
  ctx: SyncContext,
  branch: string,
  m: { from: string | null; to: string; worktree: string | null; committed: LocalCommit | null; userIndex: IndexSnapshot; staged: string[]; reason: string },
): Promise<void> {
  await ctx.mark({ moving: { base: m.from, to: m.to, worktree: m.worktree, index_digest: m.userIndex.digest }, branch });
  const progress = { branchMoved: false };
  try {
    // The user's index.lock held by their own git is transient: wait and try again.
    await withRetry(
      'move',
      (attempt) => moveToTarget({ git: ctx.git, gitDir: ctx.ws.gitDir, opId: ctx.opId, branch, progress, retry: attempt > 1, ...m }),
      localOptions(ctx, retryPolicy(ctx.config, ctx.type), 'move'),
    );
  } catch (e) {
    // Recovery is needed only once the branch moved (its index may lag behind it).
    if (!progress.branchMoved) await ctx.mark({ moving: null, branch }).catch(() => {});
    throw e;
  }
  await ctx.mark({ moving: null, branch });
}

/** A failure after the commit step: the commit still lands on the branch (files untouched). */
export async function landPending(ctx: SyncContext, branch: string, run: RunState): Promise<void> {
  const p = run.pending;
  if (!p) return;
  try {
    // Stopped (shutdown, a stuck op): the commit still lands, with a git client that the
    // op's aborted signal does not stop; moveTo's marker re-checks that we hold the lock.
    const lctx = ctx.signal.aborted ? { ...ctx, git: ctx.ws.git.withOp(ctx.opId, { logger: ctx.logger }), signal: new AbortController().signal } : ctx;
    await moveTo(lctx, branch, {
      from: p.from,
      to: p.local.commit,
      worktree: p.local.commit,
      committed: p.local,
      userIndex: p.userIndex,
      staged: p.staged,
      reason: `commit (${ctx.type})`,
    });
    run.pending = null;
    run.committed = true;
    run.head = p.local.commit;
  } catch (e) {
    ctx.logger.warn({ err: (e as Error).message }, 'could not put the local commit on the branch; the changes stay in the work tree for the next sync');
  }
}

/**
 * The move failed: a conflict copy it did not write to the work tree never existed for
 * the user; its record is withdrawn (a copy file that is there stays logged: the next
 * sync commits it).
 */
export function withdrawUnlanded(ctx: SyncContext, records: ConflictRecord[]): void {
  const time = new Date((ctx.clock ?? Date.now)()).toISOString();
  for (const rec of records) {
    if (rec.outcome !== 'copy-created' || !rec.copy_path || existsNoFollow(join(ctx.ws.root, rec.copy_path))) continue;
    appendConflict(ctx.ws.paths.conflictsLog, { time, resolved: rec.path, withdrawn_op: ctx.opId });
  }
}

/**
 * The optimistic push sends a commit built from the work tree before the branch moves
 * (move.ts re-checks all of this under the index lock): only while HEAD still names the
 * branch and the user's index is exactly as the commit step read it, so no switch,
 * merge or stash pop ran meanwhile.
 */
export async function optimisticPushSafe(ctx: SyncContext, branch: string, userIndex: IndexSnapshot): Promise<boolean> {
  if (headBranchFromFile(ctx.ws.gitDir) !== branch || existsSync(join(ctx.ws.gitDir, 'index.lock'))) return false;
  return (await readUserIndex(ctx.ws.gitDir)).digest === userIndex.digest;
}
