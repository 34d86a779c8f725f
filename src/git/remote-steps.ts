/**
 * The steps that talk to the remote: fetch the branch, push one explicit commit, read
 * back the remote tip. Each runs one git command with the network time limits and
 * reports what the remote said; retrying is the caller's (step-retry.ts).
 */
import { SyncFailedError } from '../shared/errors.js';
import { networkRunOptions } from './network.js';
import { gitSaid } from './classify.js';
import { GitError } from './git-error.js';
import type { Preflight } from './preflight.js';
import { parsePushPorcelain, type PushResult, pushRefusedError } from './push.js';
import type { SyncContext } from './sync-context.js';

/** Returns false when the branch does not exist on the remote yet (first push creates it). */
export async function fetchBranch(ctx: SyncContext, remote: string, branch: string, remoteRef: string): Promise<boolean> {
  try {
    await ctx.git.run(['fetch', '--no-tags', '--quiet', remote, `+refs/heads/${branch}:${remoteRef}`], networkRunOptions(ctx.config));
    return true;
  } catch (e) {
    if (e instanceof GitError && /couldn't find remote ref/i.test(e.stderr)) return false;
    throw e;
  }
}

/** Push the explicit commit the sync built or verified (invariant 4: never `HEAD:`, never forced). */
export async function pushOnce(ctx: SyncContext, pf: Preflight, commit: string): Promise<PushResult> {
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

export function throwPushFailure(status: PushResult, attempt: number): never {
  throw pushRefusedError(status, { attempts: attempt });
}

export async function verifyRemoteTip(ctx: SyncContext, remote: string, branch: string, head: string | null): Promise<void> {
  const res = await ctx.git.run(['ls-remote', remote, `refs/heads/${branch}`], networkRunOptions(ctx.config));
  const tip = res.stdout.split('\t')[0]?.trim();
  if (tip !== head) throw new SyncFailedError(`verify: the remote tip ${tip || '(none)'} is not the pushed commit ${head}`, { code: 'EVERIFY' });
}
