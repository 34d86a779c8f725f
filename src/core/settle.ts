/**
 * Settling requests: every way a queued request leaves the queue (served by a sync,
 * covered by the last one, refused or deferred by the rate limit, counted after a
 * rejection at enqueue) goes through `settle`, which records the same things in the
 * same order: the outcome, the results file for `--wait`, the stats and `last_served`
 * in one state update, and the spool files last, so that a kill before that line
 * re-serves a request and never loses it (invariant 2).
 */
import { appendConflict } from '../git/conflict-log.js';
import type { Priority, SyncType } from '../shared/config.js';
import type { Covered, Drain } from './drain-types.js';
import { nowOf } from './drain-types.js';
import { type CoordinatorError, ExitCode } from '../shared/errors.js';
import { recordFailure } from '../shared/failure-record.js';
import { handMergedPaths, resumeAfterManualSync } from './pause.js';
import { type QueueEntry, removeEntries, rewriteEntry } from './queue.js';
import { rateLimitMessage, recordSync, refusalFor } from './rate-limit.js';
import { type RequestOutcome, type RequestResult, writeResult } from './results.js';
import type { CoordinatorState } from '../shared/state.js';

/** Record the outcome of each entry, its results file, the stats (`account`) and `last_served`; then delete the spool files. */
async function settle(
  d: Drain,
  entries: QueueEntry[],
  outcomeOf: (e: QueueEntry, i: number) => RequestOutcome,
  account: (s: CoordinatorState) => void,
  opts: { writeResults: boolean } = { writeResults: true },
): Promise<void> {
  const outcomes = entries.map((e, i) => outcomeOf(e, i));
  for (const o of outcomes) d.report.outcomes.set(o.id, o);
  noteCallers(d, entries);
  if (opts.writeResults) await Promise.all(outcomes.map((o) => writeResult(d.opts.ws.paths.results, o)));
  await d.store.update((s) => {
    s.stats.requests += entries.length;
    account(s);
    s.last_served = entries.map((e) => e.request.id);
  });
  // Last: a kill before this line re-serves them, never loses them.
  await removeEntries(entries);
  d.opts.onSettled?.(outcomes);
}

function noteCallers(d: Drain, entries: QueueEntry[]): void {
  d.report.callers ??= new Map();
  for (const e of entries) d.report.callers.set(e.request.id, e.request.caller);
}

/** Caller -> count: the trigger labels of metrics (callers are free text; metrics bound the label set). */
function countCallers(entries: QueueEntry[], into: Record<string, number> = {}): Record<string, number> {
  for (const e of entries) into[e.request.caller] = (into[e.request.caller] ?? 0) + 1;
  return into;
}

/** Requests made before the last sync read the work tree: served by it (invariant 3). */
export async function settleCovered(d: Drain, entries: QueueEntry[], c: Covered): Promise<void> {
  const finishedAt = new Date(nowOf(d.opts)).toISOString();
  // Covered belongs to this drain (report.covered), so its sync's batch is in the report:
  // these requests count with the sync that served them.
  const served = d.report.batches.find((b) => b.op === c.op);
  if (served) countCallers(entries, served.callers);
  await settle(
    d,
    entries,
    (e) => ({
      id: e.request.id,
      status: 'merged',
      result: c.result,
      op: c.op,
      message: `${c.message} (served by op ${c.op}, which started after this request)`,
      exit_code: ExitCode.ok,
      finished_at: finishedAt,
    }),
    (s) => {
      s.stats.merged += entries.length;
    },
  );
  d.opts.logger.debug({ op: c.op, requests: entries.length }, 'requests made before the last sync read the work tree: served by it');
}

/** What a batch came to: a sync that ran (`op` set) or one that was not started (a pause, a guided merge). */
export interface Finish {
  op: string | null;
  type: SyncType;
  priority: Priority;
  result: RequestResult;
  message: string;
  exitCode: number;
  /** The sync committed or pushed something: it counts toward the rate limit. */
  counted: boolean;
  /** Hands-off refusal (RepoBusyError): counted as refused, not as a failed sync. */
  refused?: boolean;
  error?: CoordinatorError | null;
  /** Step -> in-run retries the sync made. */
  retries?: Record<string, number>;
}

/** One batch served: the first request is `processed`, the others `merged` into it. */
export async function settleBatch(d: Drain, batch: QueueEntry[], f: Finish): Promise<void> {
  const { opts, store } = d;
  const now = nowOf(opts);
  const finishedAt = new Date(now).toISOString();
  const ran = f.op !== null;
  const succeeded = ran && !f.refused && (f.result === 'ok' || f.result === 'noop');
  // A successful manual sync after a conflict left for the user: they merged by hand, so
  // the conflicts it left are closed too (not only the pause).
  for (const path of succeeded ? handMergedPaths(store.get().paused, f.type) : [])
    appendConflict(opts.ws.paths.conflictsLog, { time: finishedAt, resolved: path });
  await settle(
    d,
    batch,
    (e, i) => ({
      id: e.request.id,
      status: i === 0 ? 'processed' : 'merged',
      result: f.result,
      op: f.op,
      message: f.message,
      exit_code: f.exitCode,
      finished_at: finishedAt,
    }),
    (s) => {
      s.stats.merged += Math.max(0, batch.length - 1);
      if (ran) accountSync(d, s, f, now, finishedAt);
      s.active = null;
    },
  );
  d.report.batches.push({
    op: f.op,
    type: f.type,
    priority: f.priority,
    requestIds: batch.map((e) => e.request.id),
    outcome: 'processed',
    result: f.result,
    message: f.message,
    exitCode: f.exitCode,
    callers: countCallers(batch),
    retries: f.retries ?? {},
  });
}

/** The stats, failure record, pause and rate-limit window after a sync that ran. */
function accountSync(d: Drain, s: CoordinatorState, f: Finish, now: number, finishedAt: string): void {
  const message = f.message.slice(0, 500);
  if (f.refused) {
    s.stats.refused = (s.stats.refused ?? 0) + 1;
    s.last_op = { op: f.op!, type: f.type, result: 'refused', finished_at: finishedAt, message };
    return;
  }
  if (f.result === 'ok' || f.result === 'noop') {
    s.stats.syncs_ok += 1;
    s.stats.last_success_at = finishedAt;
    // The state tells the truth: an error that a later sync got past is history.
    s.stats.last_error = null;
    s.last_failure = null;
    if (f.result === 'noop') s.stats.noops += 1;
    resumeAfterManualSync(s, f.type);
  } else {
    s.stats.syncs_failed += 1;
    s.stats.last_error = message;
    if (f.error) s.last_failure = recordFailure(s.last_failure, { code: f.error.code, message: f.message, retryable: f.error.retryable }, now);
  }
  if (f.counted) s.rate_limit = recordSync(d.opts.config, s.rate_limit, now);
  s.last_op = { op: f.op!, type: f.type, result: f.result, finished_at: finishedAt, message };
}

/** Over the limit: low waits in the queue until the reset; others are rejected (exit 3). */
export async function settleRefused(d: Drain, batch: QueueEntry[], refusal: { resetsAt: string | null; used: number; limit: number }): Promise<void> {
  const { opts, report } = d;
  const { resetsAt, used, limit } = refusal;
  const now = nowOf(opts);
  const rejected = batch.filter((e) => refusalFor(e.request.priority) === 'reject');
  const deferred = batch.filter((e) => refusalFor(e.request.priority) === 'defer');
  const message = rateLimitMessage(used, limit, resetsAt, 'low');
  const messageFor = (p: Priority) => rateLimitMessage(used, limit, resetsAt, p, opts.config.burst_capacity);
  const finishedAt = new Date(now).toISOString();
  let newlyDeferred = 0;
  // A deferred request stays queued: its spool file is rewritten, no results file is written.
  for (const e of deferred) {
    const until = resetsAt ?? new Date(now + 60_000).toISOString();
    if (!e.request.deferred_until) newlyDeferred++;
    e.request.deferred_until = until;
    await rewriteEntry(e);
    noteCallers(d, [e]);
    report.outcomes.set(e.request.id, {
      id: e.request.id,
      status: 'deferred',
      result: null,
      op: null,
      message,
      exit_code: ExitCode.ok,
      finished_at: finishedAt,
      resets_at: resetsAt,
    });
  }
  await settle(
    d,
    rejected,
    (e) => ({
      id: e.request.id,
      status: 'rejected',
      result: null,
      op: null,
      message: messageFor(e.request.priority),
      exit_code: ExitCode.rateLimited,
      finished_at: finishedAt,
      resets_at: resetsAt,
    }),
    (s) => {
      s.stats.rejected += rejected.length;
      s.stats.deferred += newlyDeferred;
    },
  );
  if (rejected.length) opts.logger.warn({ rejected: rejected.length, deferred: deferred.length, resets_at: resetsAt }, 'rate limit reached');
  report.batches.push({
    op: null,
    type: batch[0]!.request.type,
    priority: batch[0]!.request.priority,
    requestIds: batch.map((e) => e.request.id),
    outcome: rejected.length ? 'rejected' : 'deferred',
    result: null,
    message: rejected[0] ? messageFor(rejected[0].request.priority) : message,
    exitCode: rejected.length ? ExitCode.rateLimited : ExitCode.ok,
    // Only the rejected ones are settled: a deferred request counts when it is served.
    callers: countCallers(rejected),
    retries: {},
  });
}

/** Requests that `request-sync` already rejected at once: only counted here, under the lock (the caller was told; no results file). */
export async function settleRejectedAtEnqueue(d: Drain, entries: QueueEntry[]): Promise<void> {
  const finishedAt = new Date(nowOf(d.opts)).toISOString();
  await settle(
    d,
    entries,
    (e) => ({
      id: e.request.id,
      status: 'rejected',
      result: null,
      op: null,
      message: 'rejected by the rate limit',
      exit_code: ExitCode.rateLimited,
      finished_at: finishedAt,
    }),
    (s) => {
      s.stats.rejected += entries.length;
    },
    { writeResults: false },
  );
}
