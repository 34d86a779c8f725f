/**
 * The sync pipeline: preflight, commit, fetch, integrate, resolve, push, verify. Each
 * step is announced (visible in `status` while it runs) and fenced: the lock holder
 * re-checks that it still owns the lock before every step that changes the repository.
 *
 * Failures are classified (classify.ts): transient ones (network, a lock file held by
 * another git) are retried in-run with p-retry (retry.ts); permanent ones fail at once
 * and say what to fix. Policy lives above: the coordinator's circuit breaker tells the
 * pipeline whether it may use the remote (`remoteAccess`: while it is open, the sync
 * commits locally and skips fetch/push), and the pipeline reports a network failure
 * (RemoteUnavailableError) or conflicts left for the user (ConflictError) for the
 * coordinator to count or pause on.
 */
import { BreakerOpenError, RemoteUnavailableError, RepoBusyError, SyncFailedError } from '../shared/errors.js';
import { appendConflict } from './conflict-log.js';
import { retryPolicy, withRetry, type RetryPolicy } from '../shared/retry.js';
import type { RemoteInfo } from './classify.js';
import { readUserIndex, sweepPrivateFiles } from './index-file.js';
import { landPending, moveTo, optimisticPushSafe, withdrawUnlanded } from './landing.js';
import { leaveForUser } from './left-for-user.js';
import { buildLocalCommit } from './local-commit.js';
import { assertNoNewConflict, integrityCheck, resolverFor, stagingPlan, statusNow } from './local-steps.js';
import { WorktreeChangedError } from './move.js';
import { preflight } from './preflight.js';
import { readRef } from './refs.js';
import { fetchBranch, pushOnce, throwPushFailure, verifyRemoteTip } from './remote-steps.js';
import { jitteredPause, localOptions, netOptions } from './step-retry.js';
import type { RunState, SyncContext, SyncOutcome } from './sync-context.js';
import { finishRun } from './sync-report.js';
import { LeaveForUser } from './tree-merge.js';

export type { StepName } from './sync-context.js';

export async function runPipeline(ctx: SyncContext): Promise<SyncOutcome> {
  const { git, config } = ctx;
  const policy = retryPolicy(config, ctx.type);

  await ctx.step('preflight');
  // status reads every file: a git killed by a signal (SIGBUS on a file rewritten in
  // place) or refusing a file that changed under it is retried.
  const pf = await withRetry('preflight', () => preflight(git, ctx.ws.gitDir, config.remote, config.branch), localOptions(ctx, policy, 'preflight'));
  await sweepPrivateFiles(ctx.ws.gitDir, ctx.opId);
  if (ctx.type === 'robust') await integrityCheck(ctx);
  const remote: RemoteInfo = { remote: pf.remote, url: pf.remoteUrl };
  const remoteRef = `refs/remotes/${pf.remote}/${pf.branch}`;

  // The coordinator's circuit breaker (invariant 7): a single try means no retries.
  const access = ctx.remoteAccess;
  const netPolicy: RetryPolicy = access.kind === 'single-try' ? { ...policy, retries: 0 } : policy;

  const run: RunState = {
    head: pf.head,
    status: pf.status,
    committed: false,
    pulled: false,
    pushed: false,
    records: [],
    chosenCopies: new Set(),
    rewrite: null,
    untrackedState: [],
  };
  try {
    for (let round = 1; ; round++) {
      await ctx.step('commit');
      const userIndex = await readUserIndex(ctx.ws.gitDir);
      await assertNoNewConflict(ctx, userIndex);
      const staged = run.status.filter((e) => e.x !== ' ' && e.x !== '?' && e.x !== '!').flatMap((e) => (e.origPath ? [e.path, e.origPath] : [e.path]));
      const { entries, unstage } = await stagingPlan(ctx, run.status);
      const local = await withRetry(
        'commit',
        (attempt) =>
          buildLocalCommit({
            git,
            root: ctx.ws.root,
            gitDir: ctx.ws.gitDir,
            commonDir: ctx.ws.commonDir,
            opId: ctx.opId,
            type: ctx.type,
            device: ctx.device,
            parent: run.head,
            entries,
            unstage,
            hooksPath: pf.hooksPath,
            sign: pf.sign,
            userIndex,
            attempt: round * 100 + attempt,
          }),
        localOptions(ctx, policy, 'commit'),
      );
      const tip = local?.commit ?? run.head;
      run.pending = local ? { from: run.head, local, userIndex, staged } : null;
      const move = async (to: string, reason: string) => {
        await moveTo(ctx, pf.branch, { from: run.head, to, worktree: local?.commit ?? run.head, committed: local, userIndex, staged, reason });
        run.pending = null;
      };

      // No remote for this sync: the local commit is all we do.
      if (access.kind === 'skip') {
        if (local) {
          await move(local.commit, `commit (${ctx.type})`);
          run.committed = true;
        }
        throw new BreakerOpenError(
          `${run.committed ? 'committed locally' : 'nothing new to commit'}; remote "${pf.remote}" unavailable until ${access.until} (${access.reason}); fetch and push skipped`,
          access.until,
        );
      }

      // Push first when this sync just committed on top of what it last saw of the remote:
      // a push only ever fast-forwards the remote (never forced), so if it is accepted the
      // remote had nothing we lacked. If the remote moved, git refuses the push without
      // sending anything, and the round goes on to fetch and integrate.
      if (local && round === 1 && (await optimisticPushSafe(ctx, pf.branch, userIndex))) {
        await ctx.step('push');
        const knewRemote = await readRef(ctx.ws.commonDir, remoteRef);
        const status = await withRetry('push', () => pushOnce(ctx, pf, local.commit), netOptions(ctx, netPolicy, 'push', remote));
        if (status.status === 'ok' || status.status === 'up-to-date') {
          await move(local.commit, `commit (${ctx.type})`);
          run.committed = true;
          run.pushed = status.status === 'ok';
          run.head = local.commit;
          // The push went out before a fetch could see that the branch was gone: say so.
          if (status.created && knewRemote) run.recreated = true;
          break;
        }
        if (status.status !== 'rejected-non-ff' && status.status !== 'remote-busy') throwPushFailure(status, round);
        ctx.logger.info({ round, summary: status.summary }, 'push rejected (the remote moved meanwhile); fetching and integrating');
      }

      await ctx.step('fetch');
      const previousRemote = await readRef(ctx.ws.commonDir, remoteRef);
      const exists = await withRetry('fetch', () => fetchBranch(ctx, pf.remote, pf.branch, remoteRef), netOptions(ctx, netPolicy, 'fetch', remote));
      const remoteTip = exists ? await readRef(ctx.ws.commonDir, remoteRef) : null;
      if (!remoteTip) {
        if (previousRemote) {
          throw new SyncFailedError(
            `the branch "${pf.branch}" no longer exists on remote "${pf.remote}" (deleted by another device or on the server); not re-creating it silently; to publish it again run: git push -u ${pf.remote} ${pf.branch}`,
            { code: 'EREMOTEGONE' },
          );
        }
        if (!tip) break; // an unborn branch with nothing to commit
        if (local) await move(local.commit, `commit (${ctx.type})`);
        run.committed ||= !!local;
        run.head = tip;
        await ctx.step('push');
        const status = await withRetry('push', () => pushOnce(ctx, pf, tip), netOptions(ctx, netPolicy, 'push', remote));
        if (status.status === 'ok' || status.status === 'up-to-date') {
          run.pushed = status.status === 'ok';
          break;
        }
        if (round >= MAX_ROUNDS) throwPushFailure(status, round);
        run.status = await statusNow(ctx);
        continue;
      }

      await ctx.step('integrate');
      const { integrate } = await import('./replay.js');
      const integ = await integrate(ctx, {
        local: tip,
        remote: remoteTip,
        previousRemote,
        branch: pf.branch,
        remoteName: pf.remote,
        remoteRef,
        chosenCopies: run.chosenCopies,
        sign: pf.sign,
        ...(await resolverFor(ctx)),
      });
      // Logged before the move: a kill after the move's read-tree -u (copy files written)
      // or its update-ref (copy committed) must not leave a copy that `conflicts` and
      // `status` never show (the next sync commits and pushes it).
      for (const rec of integ.records) appendConflict(ctx.ws.paths.conflictsLog, rec);
      if (integ.target !== run.head) {
        try {
          await move(integ.target, integ.pulled ? `integrate ${pf.remote}/${pf.branch} (${integ.how})` : `commit (${ctx.type})`);
        } catch (e) {
          withdrawUnlanded(ctx, integ.records);
          if (e instanceof WorktreeChangedError && round < MAX_ROUNDS) {
            ctx.logger.info({ paths: e.paths.slice(0, 10) }, 'a file changed while the sync ran; nothing was overwritten; going again to commit it');
            run.status = await statusNow(ctx);
            continue;
          }
          throw e;
        }
      }
      run.committed ||= !!local;
      run.pulled ||= integ.pulled;
      run.head = integ.target;
      run.records.push(...integ.records);
      if (integ.rewrite) run.rewrite = integ.rewrite;
      if (integ.untracked_state.length) run.untrackedState = integ.untracked_state;
      if (integ.records.length)
        ctx.logger.info({ conflicts: integ.records.map((r) => ({ path: r.path, outcome: r.outcome, copy: r.copy_path, kind: r.kind })) }, 'resolved conflicts');
      if (!integ.ahead) break;

      await ctx.step('push');
      const target = integ.target;
      const status = await withRetry('push', () => pushOnce(ctx, pf, target), netOptions(ctx, netPolicy, 'push', remote));
      if (status.status === 'ok' || status.status === 'up-to-date') {
        run.pushed = status.status === 'ok';
        break;
      }
      if ((status.status !== 'rejected-non-ff' && status.status !== 'remote-busy') || round >= MAX_ROUNDS) throwPushFailure(status, round);
      ctx.logger.info({ round, summary: status.summary }, 'push rejected (the remote moved meanwhile); fetching and integrating again');
      if (status.status === 'remote-busy') await jitteredPause(netPolicy, round, ctx.signal);
      run.status = await statusNow(ctx);
    }
    if (ctx.type === 'robust' && run.pushed) {
      await ctx.step('verify');
      const pushedTip = run.head;
      await withRetry('verify', () => verifyRemoteTip(ctx, pf.remote, pf.branch, pushedTip), netOptions(ctx, netPolicy, 'verify', remote));
    }
  } catch (e) {
    if (e instanceof LeaveForUser) throw await leaveForUser(ctx, e, pf, run);
    // Invariant 4: local changes are committed whatever happens to the remote steps.
    if (run.pending && !(e instanceof RepoBusyError) && !(e instanceof WorktreeChangedError)) await landPending(ctx, pf.branch, run);
    // Reported, not judged: the coordinator's breaker policy counts the network failure.
    if (e instanceof RemoteUnavailableError) e.committedLocally = run.committed;
    throw e;
  }
  return finishRun(ctx, pf, run);
}

/** A save during a sync, a push race: each costs a round; the bound keeps a sync finite. */
const MAX_ROUNDS = 4;
