/**
 * The end of a sync that got through: what it records for `status` (a rewrite of the
 * remote branch it followed, state files it untracked), the daily backup-ref pruning,
 * and the one-line summary of what it did.
 */
import { pruneBackups } from './backup.js';
import type { Preflight } from './preflight.js';
import type { RunState, SyncContext, SyncOutcome, SyncResult } from './sync-context.js';

export async function finishRun(ctx: SyncContext, pf: Preflight, run: RunState): Promise<SyncOutcome> {
  const { git, config } = ctx;
  const now = ctx.clock ?? Date.now;
  if (run.rewrite || run.untrackedState.length) {
    const at = new Date(now()).toISOString();
    await ctx.state.update((s) => {
      if (run.rewrite) s.remote_rewrite = { at, op: ctx.opId, old: run.rewrite.old, new: run.rewrite.new, backup_ref: run.rewrite.backup };
      if (run.untrackedState.length) s.untracked_state = { at, op: ctx.opId, paths: run.untrackedState.slice(0, 50), count: run.untrackedState.length };
    });
  }

  // Housekeeping: backups are only written when remote commits are integrated, so the
  // count can only grow then; age-based pruning is also done once a day.
  const lastPrune = Date.parse(ctx.state.get().backups_pruned_at ?? '');
  if (run.pulled || !(now() - lastPrune < 86_400_000)) {
    await pruneBackups(git, config.backups.keep, config.backups.max_age_days, now(), ctx.opId).catch((e: unknown) =>
      ctx.logger.warn({ err: (e as Error).message }, 'could not prune backup refs'),
    );
    const at = new Date(now()).toISOString();
    await ctx.state.update(
      (s) => {
        s.backups_pruned_at = at;
      },
      { durable: false },
    );
  }
  if (run.recreated) ctx.logger.warn({ branch: pf.branch, remote: pf.remote }, 'the remote branch had been deleted; the push created it again');
  const result: SyncResult = run.committed || run.pulled || run.pushed ? 'ok' : 'noop';
  const copies = run.records.filter((r) => r.outcome === 'copy-created').length;
  const merged = run.records.filter((r) => r.outcome === 'auto-merged').length;
  const details = [
    run.records.length ? `${run.records.length} conflict(s) resolved` : '',
    merged ? `${merged} auto-merged` : '',
    copies ? `${copies} conflict cop${copies === 1 ? 'y' : 'ies'} created` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const parts = [
    run.committed ? 'committed local changes' : null,
    run.pulled ? `integrated remote changes${details ? ` (${details})` : ''}` : null,
    run.pushed ? 'pushed' : null,
    run.rewrite ? `followed a rewrite of the remote branch (removed commits kept in ${run.rewrite.backup})` : null,
    run.recreated
      ? `the branch "${pf.branch}" did not exist on remote "${pf.remote}" any more (deleted by another device?) and this push created it again; if it was deleted on purpose: git push ${pf.remote} --delete ${pf.branch}`
      : null,
  ].filter(Boolean);
  return {
    result,
    committed: run.committed,
    pulled: run.pulled,
    pushed: run.pushed,
    head: run.head,
    message: parts.length ? parts.join(', ') : 'nothing to do',
  };
}
