/**
 * The sync pipeline: preflight, commit, fetch, integrate, resolve, push, verify. Each
 * step is announced (visible in `status` while it runs) and fenced: the lock holder
 * re-checks that it still owns the lock before every step that changes the repository.
 */
import { hostname } from 'node:os';
import { ConflictError, SyncFailedError } from '../core/errors.js';
import type { Config, SyncType } from '../core/config.js';
import type { StateStore } from '../core/state.js';
import type { Workspace } from '../core/workspace.js';
import type { Logger } from '../log.js';
import { saveBackup } from './backup.js';
import { commitMessage } from './commit-message.js';
import type { Git } from './git.js';
import { GitError } from './git-error.js';
import { preflight, unmergedPaths } from './preflight.js';
import { parsePushPorcelain } from './push.js';
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
const COMMIT_CONFIG = ['core.fsync=committed'];

export function deviceName(config: Config): string {
  const raw = config.device_name ?? hostname().split('.')[0] ?? 'device';
  return raw.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'device';
}

export async function runPipeline(ctx: SyncContext): Promise<SyncOutcome> {
  const { git, config } = ctx;
  await ctx.step('preflight');
  const pf = await preflight(git, config.remote, config.branch);
  const remoteRef = `refs/remotes/${pf.remote}/${pf.branch}`;

  await ctx.step('commit');
  const committed = await commitLocalChanges(ctx);

  let pulled = false;
  let pushed = false;
  for (let attempt = 1; ; attempt++) {
    await ctx.step('fetch');
    const remoteExists = await fetchBranch(ctx, pf.remote, pf.branch, remoteRef);

    await ctx.step('integrate');
    if (remoteExists) {
      const { ahead, behind } = await aheadBehind(git, remoteRef);
      if (behind > 0) {
        pulled = true;
        if (ahead === 0) await git.run(['merge', '--ff-only', '--no-edit', remoteRef], { config: COMMIT_CONFIG });
        else await rebaseOnto(ctx, remoteRef, pf.branch);
      }
      const after = await aheadBehind(git, remoteRef);
      if (after.ahead === 0) break;
    }

    await ctx.step('push');
    const res = await git.run(['push', '--porcelain', pf.remote, `HEAD:refs/heads/${pf.branch}`], { network: true, okCodes: [1], timeoutMs: config.stuck_timeout_s * 1000 });
    const status = parsePushPorcelain(res.stdout, `refs/heads/${pf.branch}`);
    if (status?.status === 'ok' || status?.status === 'up-to-date') {
      pushed = status.status === 'ok';
      break;
    }
    if (status?.status === 'rejected-non-ff' && attempt < MAX_PUSH_ATTEMPTS) {
      ctx.logger.info({ attempt, summary: status.summary }, 'push rejected as non-fast-forward; fetching and integrating again');
      continue;
    }
    if (status?.status === 'remote-rejected') {
      throw new SyncFailedError(`the remote rejected the push (${status.summary}); check branch protection or server hooks`, { code: 'EREMOTEREJECTED' });
    }
    if (!status && res.code !== 0) throw new GitError(['push'], res.code, res.stdout, res.stderr, 'exit');
    throw new SyncFailedError(`push failed: ${status?.summary ?? 'no ref status'}`, { code: 'EPUSH', retryable: status?.status === 'rejected-non-ff' });
  }

  if (ctx.type === 'robust' && pushed) {
    await ctx.step('verify');
    await verifyRemoteTip(ctx, pf.remote, pf.branch);
  }
  const head = (await git.run(['rev-parse', 'HEAD'], { readOnly: true })).stdout.trim();
  const result: SyncResult = committed || pulled || pushed ? 'ok' : 'noop';
  const parts = [committed ? 'committed local changes' : null, pulled ? 'integrated remote changes' : null, pushed ? 'pushed' : null].filter(Boolean);
  return { result, committed, pulled, pushed, head, message: parts.length ? parts.join(', ') : 'nothing to do' };
}

async function commitLocalChanges(ctx: SyncContext): Promise<boolean> {
  const { git } = ctx;
  const status = await git.run(['status', '--porcelain=v1', '-z', '--untracked-files=all'], { readOnly: true });
  const entries = parseStatusZ(status.stdout);
  if (entries.length === 0) return false;
  await git.run(['add', '-A', '--', '.']);
  // Invariant 4: never commit with unmerged paths.
  if ((await unmergedPaths(git)).length > 0) throw new SyncFailedError('unmerged paths in the index; refusing to commit', { code: 'EUNMERGED' });
  const staged = await git.run(['diff', '--cached', '--quiet'], { readOnly: true, okCodes: [1] });
  if (staged.code === 0) return false;
  const summary = summarize(parseStatusZ((await git.run(['status', '--porcelain=v1', '-z', '--untracked-files=all'], { readOnly: true })).stdout));
  const message = commitMessage(ctx.type, summary, deviceName(ctx.config), ctx.opId);
  await git.run(['commit', '--quiet', '-F', '-'], { input: message, config: COMMIT_CONFIG });
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

async function aheadBehind(git: Git, remoteRef: string): Promise<{ ahead: number; behind: number }> {
  const res = await git.run(['rev-list', '--left-right', '--count', `HEAD...${remoteRef}`], { readOnly: true });
  const [ahead = '0', behind = '0'] = res.stdout.trim().split(/\s+/);
  return { ahead: Number(ahead), behind: Number(behind) };
}

async function rebaseOnto(ctx: SyncContext, remoteRef: string, branch: string): Promise<void> {
  const { git } = ctx;
  const backup = await saveBackup(git, ctx.opId, 'rebase');
  await ctx.mark({ integrating: 'rebase', backup_ref: backup, branch });
  try {
    await git.run(['rebase', '--no-autosquash', '--no-autostash', remoteRef], { config: COMMIT_CONFIG });
  } catch (e) {
    const conflicted = await unmergedPaths(git);
    await git.run(['rebase', '--abort'], { okCodes: [128] });
    await git.run(['reset', '--hard', '--quiet', backup]);
    await ctx.mark({ integrating: null, backup_ref: backup, branch });
    if (conflicted.length > 0) {
      throw new ConflictError(`conflict integrating the remote in ${conflicted.length} path(s): ${conflicted.slice(0, 5).join(', ')}`, conflicted);
    }
    throw e;
  }
  await ctx.mark({ integrating: null, backup_ref: backup, branch });
}

async function verifyRemoteTip(ctx: SyncContext, remote: string, branch: string): Promise<void> {
  const head = (await ctx.git.run(['rev-parse', 'HEAD'], { readOnly: true })).stdout.trim();
  const res = await ctx.git.run(['ls-remote', remote, `refs/heads/${branch}`], { network: true, timeoutMs: ctx.config.stuck_timeout_s * 1000 });
  const tip = res.stdout.split('\t')[0]?.trim();
  if (tip !== head) throw new SyncFailedError(`verify: the remote tip ${tip || '(none)'} is not the pushed commit ${head}`, { code: 'EVERIFY', retryable: true });
}
