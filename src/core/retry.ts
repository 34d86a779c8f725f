/**
 * In-run retries of transient failures with p-retry 7: exponential backoff with jitter.
 *
 * Every p-retry option is set explicitly (its defaults are 10 retries, no jitter and
 * no cap: ~17 minutes of sleeping). Whether to retry is the error's own decision
 * (`CoordinatorError.retryable`, set by the classification table); anything else is
 * wrapped in `AbortError` so it fails at once. Note that p-retry rejects with the
 * ORIGINAL error, not the AbortError, so callers test for our classes.
 *
 * Cross-run backoff (many short-lived processes) is the breaker's job, persisted in the
 * state file; p-retry state dies with the process.
 */
import pRetry, { AbortError } from 'p-retry';
import type { Config, SyncType } from './config.js';
import { CoordinatorError } from './errors.js';
import type { Logger } from '../log.js';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  retries: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Total time budget, attempts included. */
  maxRetryTimeMs: number;
}

export function retryPolicy(config: Config, type: SyncType): RetryPolicy {
  return {
    retries: type === 'robust' ? config.retries.robust : config.retries.default,
    minDelayMs: config.retries.min_delay_ms,
    maxDelayMs: Math.max(config.retries.min_delay_ms, config.retries.max_delay_ms),
    maxRetryTimeMs: config.stuck_timeout_s * 1000,
  };
}

export function isRetryable(e: unknown): boolean {
  return e instanceof CoordinatorError && e.retryable;
}

/**
 * Run `attempt` until it succeeds, a non-retryable error occurs, or the policy is used
 * up. `classify` turns raw failures (GitError) into typed ones first.
 */
export async function withRetry<T>(
  what: string,
  attempt: (n: number) => Promise<T>,
  opts: { policy: RetryPolicy; classify?: (e: unknown) => unknown; logger?: Logger; signal?: AbortSignal; onFailure?: (raw: unknown) => Promise<void> },
): Promise<T> {
  const classify = opts.classify ?? ((e: unknown) => e);
  return pRetry(
    async (n) => {
      try {
        return await attempt(n);
      } catch (raw) {
        await opts.onFailure?.(raw);
        const e = classify(raw);
        if (isRetryable(e)) throw e;
        // Permanent or unknown: stop now. p-retry rethrows `e` itself (originalError).
        throw new AbortError(e instanceof Error ? e : new Error(String(e)));
      }
    },
    {
      retries: opts.policy.retries,
      factor: 2,
      minTimeout: opts.policy.minDelayMs,
      maxTimeout: opts.policy.maxDelayMs,
      randomize: true,
      maxRetryTime: opts.policy.maxRetryTimeMs,
      unref: false,
      ...(opts.signal ? { signal: opts.signal } : {}),
      shouldRetry: ({ error }) => isRetryable(error),
      shouldConsumeRetry: () => true,
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        opts.logger?.warn({ what, attempt: attemptNumber, retries_left: retriesLeft, err: error.message, code: (error as Partial<CoordinatorError>).code }, retriesLeft > 0 ? 'transient failure; retrying with backoff' : 'transient failure; no retries left');
      },
    },
  );
}
