/**
 * The sync pipeline: preflight, commit, fetch, integrate, resolve, push, verify. Each
 * step is announced (visible in `status` while it runs) and fenced: the lock holder
 * re-checks that it still owns the lock before every step that changes the repository.
 *
 * Failures are classified (classify.ts): transient ones (network, a lock file held by
 * another git) are retried in-run with p-retry (retry.ts); permanent ones fail at once
 * and say what to fix. Each sync that still fails for network reasons after its retries
 * counts toward the remote's persisted circuit breaker (core/breaker.ts); while it is
 * open, syncs commit locally and skip fetch/push.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { breakerView, effectiveState, recordNetworkFailure, recordSuccess } from '../core/breaker.js';
import { appendConflict, type ConflictRecord } from '../core/conflict-log.js';
import { BreakerOpenError, ConflictError, RemoteUnavailableError, RepoBusyError, SyncFailedError } from '../core/errors.js';
import { removeDeadGitLocks } from '../core/git-lock-files.js';
import { existsNoFollow } from '../core/exists-no-follow.js';
import { retryPolicy, withRetry, type RetryPolicy } from '../core/retry.js';
import type { Config, SyncType } from '../core/config.js';
import type { MovingMarker, StateStore } from '../core/state.js';
import type { Workspace } from '../core/workspace.js';
import type { Logger } from '../log.js';
import { pruneBackups } from './backup.js';
import { gitSaid, toSyncError, type RemoteInfo } from './classify.js';
import type { Git } from './git.js';
import { GitError } from './git-error.js';
import { indexHasUnmerged, readUserIndex, sweepPrivateFiles, type IndexSnapshot } from './index-file.js';
import { buildLocalCommit, type LocalCommit } from './local-commit.js';
import { moveToTarget, WorktreeChangedError } from './move.js';
import { headBranchFromFile, preflight, type Preflight } from './preflight.js';
import { parsePushPorcelain, pushRefusedError, type PushResult } from './push.js';
import { networkRunOptions } from '../core/network.js';
import { readRef } from './refs.js';
import { parseStatusV2Z, type StatusEntry } from './status.js';
import { LeaveForUser, type ContentMerge } from './tree-merge.js';

export type StepName = 'preflight' | 'commit' | 'fetch' | 'integrate' | 'resolve' | 'push' | 'verify';

export interface RecoveryMarker {
  moving: MovingMarker | null;
  branch: string | null;
}

export interface SyncContext {
  ws: Workspace;
  /** coordinator-state.json (breaker, pause); we hold the lock, so updates are ours. */
  state: StateStore;
  /** Every command of the op carries the op id and stops when `signal` aborts. */
  git: Git;
  config: Config;
  logger: Logger;
  opId: string;
  type: SyncType;
  /** Device name for commit messages and conflict copies (config `device_name`). */
  device: string;
  signal: AbortSignal;
  /** Announce a step: persists `active.step` and re-checks lock ownership. */
  step(name: StepName): Promise<void>;
  /** Persist the crash-recovery marker before the sync moves the branch, index and files. */
  mark(marker: RecoveryMarker): Promise<void>;
  /** Wall clock for the breaker and conflict-copy names (default Date.now). */
  clock?: () => number;
}

export type SyncResult = 'ok' | 'noop' | 'failed' | 'conflict';

export interface SyncOutcome {
  result: SyncResult;
  committed: boolean;
  pulled: boolean;
  pushed: boolean;
  message: string;
  head: string | null;
}

const FSCK_MAX_MS = 120_000;

export function deviceName(config: Config): string {
  const raw = config.device_name ?? hostname().split('.')[0] ?? 'device';
  return raw.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'device';
}

export async function runPipeline(ctx: SyncContext): Promise<SyncOutcome> {
  const { git, config } = ctx;
  const now = ctx.clock ?? Date.now;
  const policy = retryPolicy(config, ctx.type);

  await ctx.step('preflight');
  // status reads every file: a git killed by a signal (SIGBUS on a file rewritten in
  // place) or refusing a file that changed under it is retried.
  const pf = await withRetry('preflight', () => preflight(git, ctx.ws.gitDir, config.remote, config.branch), localOptions(ctx, policy, 'preflight'));
  await sweepPrivateFiles(ctx.ws.gitDir, ctx.opId);
  if (ctx.type === 'robust') await integrityCheck(ctx);
  const remote: RemoteInfo = { remote: pf.remote, url: pf.remoteUrl };
  const remoteRef = `refs/remotes/${pf.remote}/${pf.branch}`;

  // Circuit breaker (invariant 7): while open, the local commit is all we do.
  const breaker = ctx.state.get().breakers[pf.remote];
  const breakerState = effectiveState(breaker, now());
  // Half-open: exactly one try, no retries.
  const netPolicy: RetryPolicy = breakerState === 'half-open' ? { ...policy, retries: 0 } : policy;

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

      if (breakerState === 'open') {
        if (local) {
          await move(local.commit, `commit (${ctx.type})`);
          run.committed = true;
        }
        const until = breaker?.open_until ?? null;
        throw new BreakerOpenError(
          `${run.committed ? 'committed locally' : 'nothing new to commit'}; remote "${pf.remote}" unavailable until ${until} (circuit breaker open after ${breaker?.failures ?? 0} consecutive failed syncs; last error: ${breaker?.last_error ?? 'unknown'}); fetch and push skipped`,
          until,
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
    if (e instanceof RemoteUnavailableError) {
      const at = now();
      await ctx.state.update((s) => {
        s.breakers[pf.remote] = recordNetworkFailure(s.breakers[pf.remote], config, at, e.message);
      });
      const view = breakerView(ctx.state.get().breakers[pf.remote], config, at);
      if (view.state === 'open') ctx.logger.warn({ remote: pf.remote, failures: view.failures, open_until: view.open_until }, 'circuit breaker opened');
      if (run.committed) e.message = `committed locally, but ${e.message}`;
    }
    throw e;
  }
  if (breaker && (breaker.state !== 'closed' || breaker.failures > 0)) {
    await ctx.state.update((s) => {
      s.breakers[pf.remote] = recordSuccess();
    });
    ctx.logger.info({ remote: pf.remote }, 'remote reachable again; circuit breaker closed');
  }
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

/** What one sync has done so far, across its rounds. */
interface RunState {
  /** The branch's oid as this sync knows it (moves only through move.ts). */
  head: string | null;
  status: StatusEntry[];
  committed: boolean;
  pulled: boolean;
  pushed: boolean;
  records: ConflictRecord[];
  chosenCopies: Set<string>;
  rewrite: { old: string; new: string; backup: string } | null;
  untrackedState: string[];
  /** The optimistic push created the remote branch, which this device had seen before (deleted meanwhile). */
  recreated?: boolean;
  /** The sync's own commit, not yet on the branch (the branch moves once, at the end). */
  pending?: { from: string | null; local: LocalCommit; userIndex: IndexSnapshot; staged: string[] } | null;
}

/**
 * Invariant 16: only what the user would commit. Excluded paths are warned about once
 * (recorded in coordinator-state.json, shown by `status`); a path the user staged that is
 * excluded is taken back out of the sync's private index.
 */
async function stagingPlan(ctx: SyncContext, status: StatusEntry[]): Promise<{ entries: StatusEntry[]; unstage: string[] }> {
  const { stagingExclusions, recordExclusions, exclusionWarning } = await import('./stage-filter.js');
  const excluded = status.length ? await stagingExclusions({ git: ctx.git, root: ctx.ws.root, config: ctx.config, entries: status }) : [];
  for (const x of await recordExclusions(ctx.state, excluded)) ctx.logger.warn({ path: x.path, reason: x.reason }, exclusionWarning(x));
  if (excluded.length === 0) return { entries: status, unstage: [] };
  const skip = new Set(excluded.map((x) => x.path));
  const entries = status.filter((e) => !skip.has(e.path));
  const unstage = status.filter((e) => skip.has(e.path) && e.x !== ' ' && e.x !== '?' && e.x !== '!' && !e.path.endsWith('/')).map((e) => e.path);
  return { entries, unstage };
}

/**
 * Invariant 4: a conflict that appeared after preflight (a conflicted `git stash pop`
 * leaves unmerged entries and no MERGE_HEAD) stops the sync before it stages anything.
 */
async function assertNoNewConflict(ctx: SyncContext, userIndex: IndexSnapshot): Promise<void> {
  let unmerged = indexHasUnmerged(userIndex.bytes);
  if (unmerged === null) unmerged = (await ctx.git.run(['ls-files', '-u', '-z'], { readOnly: true })).stdout.length > 0;
  if (unmerged)
    throw new RepoBusyError(
      'paths became unmerged while the sync read the work tree (a conflicted merge or stash pop); resolve them ("git status"), then sync again; nothing was staged',
    );
}

/** A failure after the commit step: the commit still lands on the branch (files untouched). */
async function landPending(ctx: SyncContext, branch: string, run: RunState): Promise<void> {
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
function withdrawUnlanded(ctx: SyncContext, records: ConflictRecord[]): void {
  const time = new Date((ctx.clock ?? Date.now)()).toISOString();
  for (const rec of records) {
    if (rec.outcome !== 'copy-created' || !rec.copy_path || existsNoFollow(join(ctx.ws.root, rec.copy_path))) continue;
    appendConflict(ctx.ws.paths.conflictsLog, { time, resolved: rec.path, withdrawn_op: ctx.opId });
  }
}

/** A save during a sync, a push race: each costs a round; the bound keeps a sync finite. */
const MAX_ROUNDS = 4;

async function moveTo(
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

/**
 * The optimistic push sends a commit built from the work tree before the branch moves
 * (move.ts re-checks all of this under the index lock): only while HEAD still names the
 * branch and the user's index is exactly as the commit step read it, so no switch,
 * merge or stash pop ran meanwhile.
 */
async function optimisticPushSafe(ctx: SyncContext, branch: string, userIndex: IndexSnapshot): Promise<boolean> {
  if (headBranchFromFile(ctx.ws.gitDir) !== branch || existsSync(join(ctx.ws.gitDir, 'index.lock'))) return false;
  return (await readUserIndex(ctx.ws.gitDir)).digest === userIndex.digest;
}

async function statusNow(ctx: SyncContext): Promise<StatusEntry[]> {
  const read = async () =>
    parseStatusV2Z((await ctx.git.run(['status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all'], { readOnly: true })).stdout).entries;
  return withRetry('status', read, localOptions(ctx, retryPolicy(ctx.config, ctx.type), 'status'));
}

async function resolverFor(ctx: SyncContext): Promise<{ resolver: ContentMerge; structured: (path: string) => boolean }> {
  const [{ createResolver }, { strategyFor }] = await Promise.all([import('./resolver.js'), import('../merge/strategy-for.js')]);
  return { resolver: createResolver(ctx.config, ctx.git), structured: (path) => strategyFor(path, ctx.config.merge) === 'json' };
}

function throwPushFailure(status: PushResult, attempt: number): never {
  throw pushRefusedError(status, { attempts: attempt });
}

/** `manual` policy: nothing was moved; record the conflict, pause, and say what works. */
async function leaveForUser(ctx: SyncContext, e: LeaveForUser, pf: Preflight, run: RunState): Promise<ConflictError> {
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
  await ctx.state.update((s) => {
    s.paused = { reason: 'conflict left for manual resolution', since: time, paths, op: ctx.opId };
  });
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

function netOptions(ctx: SyncContext, policy: RetryPolicy, step: string, remote: RemoteInfo) {
  return { policy, classify: (e: unknown) => toSyncError(e, { step, network: true, remote }), logger: ctx.logger, signal: ctx.signal };
}

/** Local steps: a git child killed by a signal (SIGBUS reading a file rewritten in place) is retried after its lock files are cleaned up. */
function localOptions(ctx: SyncContext, policy: RetryPolicy, step: string) {
  return {
    policy,
    classify: (e: unknown) => toSyncError(e, { step, network: false }),
    logger: ctx.logger,
    signal: ctx.signal,
    onFailure: async (e: unknown) => {
      if (e instanceof GitError && (e.kind === 'signal' || e.kind === 'timeout')) await removeDeadGitLocks(ctx.ws, ctx.logger);
    },
  };
}

/** A short randomized pause before retrying a push that raced another one. */
function jitteredPause(policy: RetryPolicy, attempt: number, signal: AbortSignal): Promise<void> {
  const ms = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1)) * (1 + Math.random());
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

/** Returns false when the branch does not exist on the remote yet (first push creates it). */
async function fetchBranch(ctx: SyncContext, remote: string, branch: string, remoteRef: string): Promise<boolean> {
  try {
    await ctx.git.run(['fetch', '--no-tags', '--quiet', remote, `+refs/heads/${branch}:${remoteRef}`], networkRunOptions(ctx.config));
    return true;
  } catch (e) {
    if (e instanceof GitError && /couldn't find remote ref/i.test(e.stderr)) return false;
    throw e;
  }
}

/** Push the explicit commit the sync built or verified (invariant 4: never `HEAD:`, never forced). */
async function pushOnce(ctx: SyncContext, pf: Preflight, commit: string): Promise<PushResult> {
  const ref = `refs/heads/${pf.branch}`;
  const res = await ctx.git.run(['push', '--porcelain', pf.remote, `${commit}:${ref}`], networkRunOptions(ctx.config, { okCodes: [1] }));
  const status = parsePushPorcelain(res.stdout, ref, res.stderr);
  if (!status) throw new GitError(['push'], res.code, res.stdout, res.stderr, 'exit');
  if (status.status === 'error')
    throw new SyncFailedError(
      `push of ${ref} failed: ${status.summary}${res.stderr ? ` (git said: ${gitSaid(new GitError(['push'], res.code, '', res.stderr, 'exit'))})` : ''}`,
      { code: 'EPUSH' },
    );
  return status;
}

/** `robust`: the repository's object graph is intact before we build on it (bounded in time). */
async function integrityCheck(ctx: SyncContext): Promise<void> {
  try {
    await ctx.git.run(['fsck', '--connectivity-only', '--no-dangling', '--no-progress'], {
      readOnly: true,
      timeoutMs: Math.min(ctx.config.stuck_timeout_s * 1000, FSCK_MAX_MS),
    });
  } catch (e) {
    if (e instanceof GitError && e.kind === 'timeout') {
      ctx.logger.warn({}, 'integrity check (git fsck --connectivity-only) hit its time bound; continuing');
      return;
    }
    if (e instanceof GitError && e.kind === 'exit') {
      throw new SyncFailedError(`integrity check failed (git fsck --connectivity-only: ${gitSaid(e)}); repair the repository before syncing (see "git fsck")`, {
        code: 'EINTEGRITY',
        cause: e,
      });
    }
    throw e;
  }
}

async function verifyRemoteTip(ctx: SyncContext, remote: string, branch: string, head: string | null): Promise<void> {
  const res = await ctx.git.run(['ls-remote', remote, `refs/heads/${branch}`], networkRunOptions(ctx.config));
  const tip = res.stdout.split('\t')[0]?.trim();
  if (tip !== head) throw new SyncFailedError(`verify: the remote tip ${tip || '(none)'} is not the pushed commit ${head}`, { code: 'EVERIFY' });
}
