/**
 * The `manual` conflict policy's report (DESIGN section 5): the conflicts the sync left
 * for the user, logged in conflicts.log, and an error that says how to merge by hand.
 */
import { appendConflict } from './conflict-log.js';
import { ConflictError } from '../shared/errors.js';
import type { Preflight } from './preflight.js';
import type { RunState, SyncContext } from './sync-context.js';
import type { LeaveForUser } from './tree-merge.js';

/**
 * `manual` policy: nothing was moved; record the conflicts and say what works. The
 * returned ConflictError names the paths; the coordinator pauses automatic syncs on it.
 */
export async function leaveForUser(ctx: SyncContext, e: LeaveForUser, pf: Preflight, run: RunState): Promise<ConflictError> {
  const time = new Date((ctx.clock ?? Date.now)()).toISOString();
  const paths = e.conflicts.map((c) => c.path);
  for (const { path, kind } of e.conflicts) {
    appendConflict(ctx.ws.paths.conflictsLog, {
      time,
      op: ctx.opId,
      path,
      policy: 'manual',
      outcome: 'left-for-user',
      copy_path: null,
      kind,
      device: ctx.device,
    });
  }
  const dirty = run.status.length > 0;
  const steps = [
    ...(dirty ? ['git add -A', 'git commit -m "my changes"'] : []),
    `git pull --rebase ${pf.remote} ${pf.branch}`,
    'edit the conflicted files, then: git add <file> and git rebase --continue',
    'sync-now',
  ];
  return new ConflictError(
    `conflict in ${paths.length} file(s) (${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ', ...' : ''}) left for you (user_conflict_policy "manual"): the sync changed nothing (work tree, index and branch are as they were); automatic syncs are paused. To merge by hand: ${steps.map((s, i) => `(${i + 1}) ${s}`).join('; ')}. "sync-now" pushes the result and resumes automatic syncs (or run "sync-coordinator conflicts --resolve <path>" for each file).`,
    paths,
  );
}
