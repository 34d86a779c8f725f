/**
 * The sync's local, read-mostly steps: what to stage (invariant 16), a conflict that
 * appeared since preflight, a fresh status between rounds, the content resolver for
 * integration, and the `robust` integrity check. None of them moves the branch.
 */
import { RepoBusyError, SyncFailedError } from '../shared/errors.js';
import { retryPolicy, withRetry } from '../shared/retry.js';
import { gitSaid } from './classify.js';
import { GitError } from './git-error.js';
import { type IndexSnapshot, indexHasUnmerged } from './index-file.js';
import { parseStatusV2Z, type StatusEntry } from './status.js';
import { localOptions } from './step-retry.js';
import type { SyncContext } from './sync-context.js';
import type { ContentMerge } from './tree-merge.js';

const FSCK_MAX_MS = 120_000;

/**
 * Invariant 16: only what the user would commit. Excluded paths are warned about once
 * (recorded in coordinator-state.json, shown by `status`); a path the user staged that is
 * excluded is taken back out of the sync's private index.
 */
export async function stagingPlan(ctx: SyncContext, status: StatusEntry[]): Promise<{ entries: StatusEntry[]; unstage: string[] }> {
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
export async function assertNoNewConflict(ctx: SyncContext, userIndex: IndexSnapshot): Promise<void> {
  let unmerged = indexHasUnmerged(userIndex.bytes);
  if (unmerged === null) unmerged = (await ctx.git.run(['ls-files', '-u', '-z'], { readOnly: true })).stdout.length > 0;
  if (unmerged)
    throw new RepoBusyError(
      'paths became unmerged while the sync read the work tree (a conflicted merge or stash pop); resolve them ("git status"), then sync again; nothing was staged',
    );
}

export async function statusNow(ctx: SyncContext): Promise<StatusEntry[]> {
  const read = async () =>
    parseStatusV2Z((await ctx.git.run(['status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all'], { readOnly: true })).stdout).entries;
  return withRetry('status', read, localOptions(ctx, retryPolicy(ctx.config, ctx.type), 'status'));
}

export async function resolverFor(ctx: SyncContext): Promise<{ resolver: ContentMerge; structured: (path: string) => boolean }> {
  const [{ createResolver }, { strategyFor }] = await Promise.all([import('./resolver.js'), import('../merge/strategy-for.js')]);
  return { resolver: createResolver(ctx.config, ctx.git), structured: (path) => strategyFor(path, ctx.config.merge) === 'json' };
}

/** `robust`: the repository's object graph is intact before we build on it (bounded in time). */
export async function integrityCheck(ctx: SyncContext): Promise<void> {
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
