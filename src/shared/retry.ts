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
import type { Logger } from './log.js';
import { safeValue } from './sanitize.js';

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
 * Where a retry is announced besides the log: stderr when it is not a terminal (a
 * script, a hook, a service log), so that a slow network is not minutes of silence.
 * On a terminal, sync-now shows its own progress.
 */
export function defaultRetryNotice(): ((line: string) => void) | null {
  return process.stderr.isTTY ? null : (line) => process.stderr.write(`sync-coordinator: ${safeValue(line)}\n`);
}

/** The delay before retry `n` (1-based): exponential from minDelayMs, jittered x1-2, capped. */
export function retryDelayMs(policy: RetryPolicy, n: number, random = Math.random): number {
  return Math.min(policy.maxDelayMs, Math.round((1 + random()) * policy.minDelayMs * 2 ** Math.min(n - 1, 30)));
}

/**
 * Run `attempt` until it succeeds, a non-retryable error occurs, or the policy is used
 * up. `classify` turns raw failures (GitError) into typed ones first.
 *
 * The backoff delay is computed and slept here, not inside p-retry (its delays are set
 * to 0), because p-retry does not tell `onFailedAttempt` how long it will wait: each
 * retry is announced with what failed and when the next try comes.
 */
export async function withRetry<T>(
  what: string,
  attempt: (n: number) => Promise<T>,
  opts: {
    policy: RetryPolicy;
    classify?: (e: unknown) => unknown;
    logger?: Logger;
    signal?: AbortSignal;
    notice?: ((line: string) => void) | null;
    clock?: () => number;
    onFailure?: (raw: unknown) => Promise<void>;
    /** A retry is about to be made (after its backoff): how a sync counts the retries it made. */
    onRetry?: () => void;
  },
): Promise<T> {
  const classify = opts.classify ?? ((e: unknown) => e);
  const notice = opts.notice === undefined ? defaultRetryNotice() : opts.notice;
  const clock = opts.clock ?? Date.now;
  const started = clock();
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
      minTimeout: 0,
      maxTimeout: 0,
      randomize: false,
      maxRetryTime: opts.policy.maxRetryTimeMs,
      unref: false,
      ...(opts.signal ? { signal: opts.signal } : {}),
      shouldRetry: ({ error }) => isRetryable(error),
      shouldConsumeRetry: () => true,
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        const code = (error as Partial<CoordinatorError>).code;
        const left = opts.policy.maxRetryTimeMs - (clock() - started);
        if (retriesLeft <= 0 || left <= 0) {
          opts.logger?.warn({ what, attempt: attemptNumber, retries_left: 0, err: error.message, code }, 'transient failure; no retries left');
          return;
        }
        const delay = Math.max(0, Math.min(retryDelayMs(opts.policy, attemptNumber), left));
        const at = new Date(clock() + delay).toISOString();
        opts.logger?.warn(
          { what, attempt: attemptNumber, retries_left: retriesLeft, err: error.message, code, delay_ms: delay, next_try_at: at },
          'transient failure; retrying with backoff',
        );
        const total = attemptNumber + retriesLeft;
        notice?.(`${what} failed (attempt ${attemptNumber} of ${total}): ${error.message}; next try in ${(delay / 1000).toFixed(1)} s, at ${at}`);
        await sleep(delay, opts.signal);
        opts.onRetry?.();
      },
    },
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
