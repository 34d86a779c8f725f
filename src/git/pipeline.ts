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
import { hostname } from 'node:os';
import { breakerView, effectiveState, recordNetworkFailure, recordSuccess } from '../core/breaker.js';
import { BreakerOpenError, RemoteUnavailableError, RepoBusyError, SyncFailedError } from '../core/errors.js';
import { retryPolicy, withRetry, type RetryPolicy } from '../core/retry.js';
import type { Config, SyncType } from '../core/config.js';
import type { StateStore } from '../core/state.js';
import type { Workspace } from '../core/workspace.js';
import type { Logger } from '../log.js';
import { pruneBackups } from './backup.js';
import { gitSaid, toSyncError, type RemoteInfo } from './classify.js';
import { commitMessage } from './commit-message.js';
import type { Git } from './git.js';
import { GitError } from './git-error.js';
import type { PreSync, SyncRun } from './integrate.js';
import { aheadBehind, COMMIT_CONFIG } from './rev.js';
import { assertNoOperationInProgress, currentBranch, headBranchFromFile, preflight, type Preflight } from './preflight.js';
import { parsePushPorcelain, type PushResult } from './push.js';
import { parseStatusZ, summarize } from './status.js';

export type StepName = 'preflight' | 'commit' | 'fetch' | 'integrate' | 'resolve' | 'push' | 'verify';

export interface RecoveryMarker {
  integrating: 'rebase' | 'merge' | null;
  backup_ref: string | null;
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
  signal: AbortSignal;
  /** Announce a step: persists `active.step` and re-checks lock ownership. */
  step(name: StepName): Promise<void>;
  /** Persist the crash-recovery marker before the coordinator starts a rebase/merge. */
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

const MAX_PUSH_ATTEMPTS = 4;
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
  const pf = await preflight(git, ctx.ws.gitDir, config.remote, config.branch);
  if (ctx.type === 'robust') await integrityCheck(ctx);
  const remote: RemoteInfo = { remote: pf.remote, url: pf.remoteUrl };

  await ctx.step('commit');
  const pre: PreSync = { head: pf.head, indexTree: null, commit: null, committed: false };
  const committed = await withRetry('commit', () => commitLocalChanges(ctx, pre, pf), { policy, classify: (e) => toSyncError(e, { step: 'commit', network: false }), logger: ctx.logger, signal: ctx.signal });
  pre.committed = committed;

  // Circuit breaker (invariant 7): while open, the local commit is all we do.
  const breaker = ctx.state.get().breakers[pf.remote];
  const breakerState = effectiveState(breaker, now());
  if (breakerState === 'open') {
    const until = breaker?.open_until ?? null;
    throw new BreakerOpenError(
      `${committed ? 'committed locally' : 'nothing new to commit'}; remote "${pf.remote}" unavailable until ${until} (circuit breaker open after ${breaker?.failures ?? 0} consecutive failed syncs; last error: ${breaker?.last_error ?? 'unknown'}); fetch and push skipped`,
      until,
    );
  }
  // Half-open: exactly one try, no retries.
  const netPolicy: RetryPolicy = breakerState === 'half-open' ? { ...policy, retries: 0 } : policy;

  const run: SyncRun = {
    device: deviceName(config),
    now,
    remote: pf.remote,
    branch: pf.branch,
    remoteRef: `refs/remotes/${pf.remote}/${pf.branch}`,
    pre,
    tracker: new Map(),
    chosenCopies: new Set(),
    records: [],
  };
  let pulled = false;
  let pushed = false;
  try {
    ({ pulled, pushed } = await fetchIntegratePush(ctx, pf, remote, run, netPolicy));
    if (ctx.type === 'robust' && pushed) {
      await ctx.step('verify');
      await withRetry('verify', () => verifyRemoteTip(ctx, pf.remote, pf.branch), netOptions(ctx, netPolicy, 'verify', remote));
    }
  } catch (e) {
    if (e instanceof RemoteUnavailableError) {
      const at = now();
      await ctx.state.update((s) => {
        s.breakers[pf.remote] = recordNetworkFailure(s.breakers[pf.remote], config, at, e.message);
      });
      const view = breakerView(ctx.state.get().breakers[pf.remote], config, at);
      if (view.state === 'open') ctx.logger.warn({ remote: pf.remote, failures: view.failures, open_until: view.open_until }, 'circuit breaker opened');
      if (committed) e.message = `committed locally, but ${e.message}`;
    }
    throw e;
  }
  if (breaker && (breaker.state !== 'closed' || breaker.failures > 0)) {
    await ctx.state.update((s) => {
      s.breakers[pf.remote] = recordSuccess();
    });
    ctx.logger.info({ remote: pf.remote }, 'remote reachable again; circuit breaker closed');
  }

  // Housekeeping: backups are only written when remote commits are integrated, so the
  // count can only grow then; age-based pruning is also done once a day.
  const lastPrune = Date.parse(ctx.state.get().backups_pruned_at ?? '');
  if (pulled || !(now() - lastPrune < 86_400_000)) {
    await pruneBackups(git, config.backups.keep, config.backups.max_age_days, now(), ctx.opId).catch((e: unknown) => ctx.logger.warn({ err: (e as Error).message }, 'could not prune backup refs'));
    const at = new Date(now()).toISOString();
    await ctx.state.update((s) => {
      s.backups_pruned_at = at;
    }, { durable: false });
  }
  const head = null; // not worth a git process per sync; the log has the op id and the remote has the tip
  const result: SyncResult = committed || pulled || pushed ? 'ok' : 'noop';
  const copies = run.records.filter((r) => r.outcome === 'copy-created').length;
  const parts = [
    committed ? 'committed local changes' : null,
    pulled ? `integrated remote changes${run.records.length ? ` (${run.records.length} conflict(s) resolved${copies ? `, ${copies} conflict cop${copies === 1 ? 'y' : 'ies'} created` : ''})` : ''}` : null,
    pushed ? 'pushed' : null,
  ].filter(Boolean);
  return { result, committed, pulled, pushed, head, message: parts.length ? parts.join(', ') : 'nothing to do' };
}

function netOptions(ctx: SyncContext, policy: RetryPolicy, step: string, remote: RemoteInfo) {
  return { policy, classify: (e: unknown) => toSyncError(e, { step, network: true, remote }), logger: ctx.logger, signal: ctx.signal };
}

async function fetchIntegratePush(ctx: SyncContext, pf: Preflight, remote: RemoteInfo, run: SyncRun, policy: RetryPolicy): Promise<{ pulled: boolean; pushed: boolean }> {
  const { git } = ctx;
  let pulled = false;
  // Push first when this sync just committed: a push only ever fast-forwards the remote
  // (never forced), so if it is accepted the remote had nothing we lacked and a fetch
  // would have found nothing to integrate. If the remote moved, git refuses the push
  // ("fetch first") without sending anything, and the loop fetches and integrates.
  // This spares the usual sync a fetch round trip and a rev-list.
  let optimistic = run.pre.committed;
  for (let attempt = 1; ; attempt++) {
    if (!optimistic) {
      await ctx.step('fetch');
      const remoteExists = await withRetry('fetch', () => fetchBranch(ctx, pf.remote, pf.branch, run.remoteRef), netOptions(ctx, policy, 'fetch', remote));

      await ctx.step('integrate');
      if (remoteExists) {
        const integrated = await withRetry('integrate', () => integrate(ctx, run), { policy, classify: (e) => toSyncError(e, { step: 'integrate', network: false }), logger: ctx.logger, signal: ctx.signal });
        if (integrated.pulled) pulled = true;
        const ahead = integrated.ahead ?? (await aheadBehind(git, run.remoteRef)).ahead;
        if (ahead === 0) return { pulled, pushed: false };
      }
    }

    await ctx.step('push');
    // The user may have switched branches meanwhile: never push another branch's HEAD.
    if ((headBranchFromFile(ctx.ws.gitDir) ?? (await currentBranch(git))) !== pf.branch) throw new RepoBusyError(`the work tree left branch "${pf.branch}" during the sync; not pushing (sync again)`);
    const status = await withRetry('push', () => pushOnce(ctx, pf), netOptions(ctx, policy, 'push', remote));
    if (status.status === 'ok' || status.status === 'up-to-date') return { pulled, pushed: status.status === 'ok' };
    if (optimistic && status.status === 'rejected-non-ff') {
      // Not an attempt of the bounded retry: the remote simply has commits to integrate.
      optimistic = false;
      attempt--;
      ctx.logger.debug({ summary: status.summary }, 'the remote has new commits; fetching and integrating before pushing');
      continue;
    }
    optimistic = false;
    if ((status.status === 'rejected-non-ff' || status.status === 'remote-busy') && attempt < MAX_PUSH_ATTEMPTS) {
      ctx.logger.info({ attempt, summary: status.summary }, 'push rejected (the remote moved meanwhile); fetching and integrating again');
      if (status.status === 'remote-busy') await jitteredPause(policy, attempt, ctx.signal);
      continue;
    }
    if (status.status === 'remote-rejected') {
      throw new SyncFailedError(`the remote rejected the push (${status.summary}); check branch protection or server hooks`, { code: 'EREMOTEREJECTED' });
    }
    throw new SyncFailedError(`push failed after ${attempt} attempt(s): ${status.summary}`, { code: 'EPUSH', retryable: false });
  }
}

/** Integrate if the remote has commits we lack; the conflict machinery loads only then. */
async function integrate(ctx: SyncContext, run: SyncRun): Promise<{ pulled: boolean; ahead: number | null }> {
  const counts = await aheadBehind(ctx.git, run.remoteRef);
  if (counts.behind === 0) return { pulled: false, ahead: counts.ahead };
  const { integrateRemote } = await import('./integrate.js');
  return integrateRemote(ctx, run, counts);
}

/** A short randomized pause before retrying a push that raced another one. */
function jitteredPause(policy: RetryPolicy, attempt: number, signal: AbortSignal): Promise<void> {
  const ms = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (attempt - 1)) * (1 + Math.random());
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

async function commitLocalChanges(ctx: SyncContext, pre: PreSync, pf: Preflight): Promise<boolean> {
  const { git } = ctx;
  // The first attempt uses preflight's status (taken moments ago, under the lock); a
  // retry looks again.
  const entries = !pre.statusUsed ? pf.status : parseStatusZ((await git.run(['status', '--porcelain=v1', '-z', '--untracked-files=all'], { readOnly: true })).stdout);
  pre.statusUsed = true;
  if (entries.length === 0) return false;
  // The index as the user left it (what they staged), as a tree: the `manual` policy
  // puts it back if the sync is undone. Only on the first attempt (a retry after
  // `add -A` would see our own staging), and only where that policy can need it.
  if (pre.indexTree === null && ctx.config.user_conflict_policy === 'manual') {
    const tree = await git.run(['write-tree'], { okCodes: [128] });
    pre.indexTree = tree.code === 0 ? tree.stdout.trim() : '';
  }
  // A merge or rebase the user started since preflight: `add -A` would stage its
  // conflicted files, markers and all, and the commit would conclude their merge.
  assertNoOperationInProgress(ctx.ws.gitDir);
  await git.run(['add', '-A', '--', '.']);
  // Invariant 4's "no unmerged paths before a commit" needs no `ls-files -u` here: the
  // check above rules out a new conflict, and `git commit` itself refuses to run with
  // an unmerged index entry, atomically under its own index lock (exit 128).
  const summary = summarize(entries);
  const message = commitMessage(ctx.type, summary, deviceName(ctx.config), ctx.opId);
  // Status can list what `add -A` stages nothing for (e.g. a submodule's untracked
  // content): then git has nothing to commit, which is a no-op, not a failure.
  const res = await git.run(['commit', '--quiet', '-F', '-'], { input: message, config: COMMIT_CONFIG, okCodes: [1] });
  if (res.code === 1) {
    if (/nothing (added )?to commit|no changes added to commit/.test(res.stdout + res.stderr)) return false;
    throw new GitError(['commit'], res.code, res.stdout, res.stderr, 'exit');
  }
  ctx.logger.info({ added: summary.added.length, modified: summary.modified.length, deleted: summary.deleted.length }, 'committed local changes');
  return true;
}

/** Returns false when the branch does not exist on the remote yet (first push creates it). */
async function fetchBranch(ctx: SyncContext, remote: string, branch: string, remoteRef: string): Promise<boolean> {
  try {
    await ctx.git.run(['fetch', '--no-tags', '--quiet', remote, `+refs/heads/${branch}:${remoteRef}`], { network: true, timeoutMs: ctx.config.stuck_timeout_s * 1000 });
    return true;
  } catch (e) {
    if (e instanceof GitError && /couldn't find remote ref/i.test(e.stderr)) return false;
    throw e;
  }
}

async function pushOnce(ctx: SyncContext, pf: Preflight): Promise<PushResult> {
  const ref = `refs/heads/${pf.branch}`;
  const res = await ctx.git.run(['push', '--porcelain', pf.remote, `HEAD:${ref}`], { network: true, okCodes: [1], timeoutMs: ctx.config.stuck_timeout_s * 1000 });
  const status = parsePushPorcelain(res.stdout, ref);
  if (!status) throw new GitError(['push'], res.code, res.stdout, res.stderr, 'exit');
  if (status.status === 'error') throw new SyncFailedError(`push of ${ref} failed: ${status.summary}${res.stderr ? ` (git said: ${gitSaid(new GitError(['push'], res.code, '', res.stderr, 'exit'))})` : ''}`, { code: 'EPUSH' });
  return status;
}

/** `robust`: the repository's object graph is intact before we build on it (bounded in time). */
async function integrityCheck(ctx: SyncContext): Promise<void> {
  try {
    await ctx.git.run(['fsck', '--connectivity-only', '--no-dangling', '--no-progress'], { readOnly: true, timeoutMs: Math.min(ctx.config.stuck_timeout_s * 1000, FSCK_MAX_MS) });
  } catch (e) {
    if (e instanceof GitError && e.kind === 'timeout') {
      ctx.logger.warn({}, 'integrity check (git fsck --connectivity-only) hit its time bound; continuing');
      return;
    }
    if (e instanceof GitError && e.kind === 'exit') {
      throw new SyncFailedError(`integrity check failed (git fsck --connectivity-only: ${gitSaid(e)}); repair the repository before syncing (see "git fsck")`, { code: 'EINTEGRITY', cause: e });
    }
    throw e;
  }
}

async function verifyRemoteTip(ctx: SyncContext, remote: string, branch: string): Promise<void> {
  const head = (await ctx.git.run(['rev-parse', 'HEAD'], { readOnly: true })).stdout.trim();
  const res = await ctx.git.run(['ls-remote', remote, `refs/heads/${branch}`], { network: true, timeoutMs: ctx.config.stuck_timeout_s * 1000 });
  const tip = res.stdout.split('\t')[0]?.trim();
  if (tip !== head) throw new SyncFailedError(`verify: the remote tip ${tip || '(none)'} is not the pushed commit ${head}`, { code: 'EVERIFY' });
}
