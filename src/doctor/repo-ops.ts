/**
 * The user's git: a rebase, merge, cherry-pick, revert or bisect in progress, or
 * unmerged paths, make every sync wait (invariant 5). A rebase/merge that an
 * interrupted sync left (its marker in coordinator-state.json) is the coordinator's
 * own: the next sync aborts it and restores from its backup ref.
 */
import { operationsInProgress, unmergedPaths, type RepoOperation } from '../git/preflight.js';
import type { Git } from '../git/git.js';
import type { ActiveOp } from '../shared/state.js';
import { ok, warn, type CheckResult } from './types.js';

const NAME = 'repository';

const FIX: Record<string, string> = {
  'a rebase': 'finish it (git rebase --continue) or abort it (git rebase --abort)',
  'a rebase or git am': 'finish it (git rebase --continue / git am --continue) or abort it (git rebase --abort / git am --abort)',
  'a merge': 'finish it (git commit) or abort it (git merge --abort)',
  'a cherry-pick': 'finish it (git cherry-pick --continue) or abort it (git cherry-pick --abort)',
  'a revert': 'finish it (git revert --continue) or abort it (git revert --abort)',
  'a bisect': 'end it: git bisect reset',
  'a cherry-pick/revert sequence': 'finish it (--continue) or abort it (git cherry-pick --abort / git revert --abort)',
};

export function judgeRepoOps(ops: RepoOperation[], unmerged: number, coordinatorMarker: ActiveOp | null): CheckResult {
  if (ops.length > 0) {
    const what = ops.map((o) => o.what).join(', ');
    if (coordinatorMarker?.integrating) {
      return warn(
        NAME,
        `${what} in progress, left by interrupted sync op ${coordinatorMarker.op}; started by an older version of sync-coordinator (this version never rebases in the work tree)`,
        'abort it: git rebase --abort (or git merge --abort)',
      );
    }
    return warn(
      NAME,
      `${what} in progress (not started by sync-coordinator); syncs wait until it is over`,
      ops.map((o) => FIX[o.what] ?? 'finish or abort it').join('; '),
    );
  }
  if (unmerged > 0) return warn(NAME, `${unmerged} unmerged path(s); syncs wait until they are resolved`, 'resolve them (git status), then git add them');
  return ok(NAME, 'no rebase, merge, cherry-pick, revert or bisect in progress');
}

export async function checkRepoOps(git: Git, gitDir: string, marker: ActiveOp | null): Promise<CheckResult> {
  return judgeRepoOps(operationsInProgress(gitDir), (await unmergedPaths(git)).length, marker);
}
