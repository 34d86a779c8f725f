/**
 * How each step of a sync retries (p-retry through core/retry.ts): local steps retry a
 * git killed by a signal after cleaning up the lock files it left; network steps
 * classify failures against the remote (network, auth, not found). The policy (how
 * many tries, how long) comes from the config and the sync type.
 */
import { removeDeadGitLocks } from './git-lock-files.js';
import type { RetryPolicy } from '../shared/retry.js';
import { type RemoteInfo, toSyncError } from './classify.js';
import { GitError } from './git-error.js';
import type { SyncContext } from './sync-context.js';

export function netOptions(ctx: SyncContext, policy: RetryPolicy, step: string, remote: RemoteInfo) {
  return {
    policy,
    classify: (e: unknown) => toSyncError(e, { step, network: true, remote }),
    logger: ctx.logger,
    signal: ctx.signal,
    onRetry: () => ctx.retried?.(step),
  };
}

/** Local steps: a git child killed by a signal (SIGBUS reading a file rewritten in place) is retried after its lock files are cleaned up. */
export function localOptions(ctx: SyncContext, policy: RetryPolicy, step: string) {
  return {
    policy,
    classify: (e: unknown) => toSyncError(e, { step, network: false }),
    logger: ctx.logger,
    signal: ctx.signal,
    onRetry: () => ctx.retried?.(step),
    onFailure: async (e: unknown) => {
      if (e instanceof GitError && (e.kind === 'signal' || e.kind === 'timeout')) await removeDeadGitLocks(ctx.ws, ctx.logger);
    },
  };
}

/** A short randomized pause before retrying a push that raced another one. */
export function jitteredPause(policy: RetryPolicy, attempt: number, signal: AbortSignal): Promise<void> {
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
