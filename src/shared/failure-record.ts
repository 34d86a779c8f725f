/**
 * The last failure's signature, kept in coordinator-state.json, so that a failure that
 * repeats identically (a pre-commit hook that rejects the same file, signing without a
 * key, a server hook) is not re-run every few seconds: the daemon backs off
 * exponentially, up to `pull_interval_s`, and `status` says so. Pure functions; the
 * coordinator records, the daemon and `status` read.
 *
 * Identical = same error code and same message once the parts that change on every
 * run (op ids, commit ids, times, counts) are masked.
 */
import { createHash } from 'node:crypto';
import type { Config } from './config.js';

export interface FailureRecord {
  /** `<code>:<hash of the normalized message>` */
  signature: string;
  code: string;
  /** Another attempt cannot help until something changes (hook, key, credentials, server rule). */
  permanent: boolean;
  /** Consecutive syncs that failed with this signature. */
  count: number;
  first_at: string;
  last_at: string;
  message: string;
}

export interface Backoff {
  until: string;
  failures: number;
  reason: string;
}

/**
 * Codes that another attempt cannot fix. EHOOK/ESIGN: the user's pre-commit/commit-msg
 * hook or commit signing (from the integrate step); EAUTH/ENOTFOUND/EBADREMOTE: the
 * remote refuses us (classify.ts); EREMOTEREJECTED: a server-side rule.
 */
export const PERMANENT_CODES: ReadonlySet<string> = new Set(['EHOOK', 'ESIGN', 'EAUTH', 'ENOTFOUND', 'EBADREMOTE', 'EREMOTEREJECTED']);

/** The first delay after a repeated failure; doubled each time up to pull_interval_s. */
export const BACKOFF_BASE_MS = 15_000;

export function normalizeMessage(message: string): string {
  return message
    .replace(/\b\d{8}-\d{6}-[0-9a-f]{6}\b/g, '<op>')
    .replace(/\b[0-9a-f]{7,64}\b/g, '<oid>')
    .replace(/\d{4}-\d{2}-\d{2}T[\d:.]+Z?/g, '<time>')
    .replace(/\d+/g, '<n>');
}

export function failureSignature(code: string, message: string): string {
  return `${code}:${createHash('sha256').update(normalizeMessage(message)).digest('hex').slice(0, 16)}`;
}

export function isPermanent(code: string, retryable: boolean): boolean {
  return !retryable && PERMANENT_CODES.has(code);
}

/** The record after a failed sync: the count goes on when the signature repeats. */
export function recordFailure(prev: FailureRecord | null | undefined, f: { code: string; message: string; retryable: boolean }, now: number): FailureRecord {
  const signature = failureSignature(f.code, f.message);
  const at = new Date(now).toISOString();
  const same = prev && prev.signature === signature;
  return {
    signature,
    code: f.code,
    permanent: isPermanent(f.code, f.retryable),
    count: same ? prev.count + 1 : 1,
    first_at: same ? prev.first_at : at,
    last_at: at,
    message: f.message.slice(0, 500),
  };
}

/**
 * When automatic syncs may try again, or null when they need not wait. A permanent
 * failure waits from its first occurrence; any other one only once it repeats
 * (the first repeat could be bad luck). Manual syncs never wait.
 */
export function backoffFor(rec: FailureRecord | null | undefined, config: Pick<Config, 'pull_interval_s'>, now: number): Backoff | null {
  if (!rec) return null;
  const steps = rec.permanent ? rec.count : rec.count - 1;
  if (steps < 1) return null;
  const cap = Math.max(BACKOFF_BASE_MS, config.pull_interval_s * 1000);
  const delay = Math.min(cap, BACKOFF_BASE_MS * 2 ** Math.min(steps - 1, 20));
  const until = Date.parse(rec.last_at) + delay;
  if (!(until > now)) return null;
  const kind = rec.permanent ? 'a failure that retrying cannot fix' : 'the same failure';
  return {
    until: new Date(until).toISOString(),
    failures: rec.count,
    reason: `${kind} ${rec.count} time(s) in a row (${rec.code}): ${rec.message.length > 200 ? `${rec.message.slice(0, 199)}…` : rec.message}`,
  };
}

/** A request someone asked for by hand (`sync-now`, a manual or critical request) never waits for a backoff. */
export function bypassesBackoff(req: { type: string; priority: string }): boolean {
  return req.type === 'manual' || req.priority === 'critical';
}
