/**
 * The queue processor. Under the workspace lock it takes every pending request and
 * serves them with one sync at the highest pending priority and the strongest pending
 * type (invariant 3), applies the rate limit (invariant 6), records each request's
 * outcome, and after releasing the lock looks at the queue again so that a request
 * written while it held the lock is never stranded (invariant 2).
 */
import { randomBytes } from 'node:crypto';
import type { Config, Priority, SyncType } from './config.js';
import { CoordinatorError, ExitCode, LockBusyError, RepoBusyError, SyncFailedError } from './errors.js';
import { appendConflict } from './conflict-log.js';
import { recordFailure } from './failure-record.js';
import { conflictsCommand, guidedMergeBlocker, isGuidedMerge } from './guided-merge.js';
import type { PauseState } from './state.js';
import { acquireLock, type LockHandle } from './lock.js';
import { countQueue, readQueue, removeEntries, rewriteEntry, sweepTemp, type QueueEntry } from './queue.js';
import { decide, rateLimitMessage, recordSync } from './rate-limit.js';
import { PRIORITY_RANK, TYPE_STRENGTH } from './request.js';
import { pruneResults, writeResult, type RequestOutcome, type RequestResult } from './results.js';
import { openStateStore, type StateStore } from './state.js';
import type { Workspace } from './workspace.js';
import type { Logger } from '../log.js';
import { deviceName, runPipeline, type StepName, type SyncOutcome } from '../git/pipeline.js';
import { selfIdentity } from './process-identity.js';
import { assertStateUntracked } from './tracked-state.js';
import { historyRecorder } from './history.js';
import { isUserPause, USER_PAUSE_REASON } from './user-pause.js';

export interface ProcessOptions {
  ws: Workspace;
  config: Config;
  logger: Logger;
  caller: string;
  /** How long to wait for the lock; 0 = one try (request-sync: the holder will serve us). */
  lockTimeoutMs: number;
  /** Progress for sync-now on a terminal. */
  onStep?: (step: StepName, op: string) => void;
  clock?: () => number;
  signal?: AbortSignal;
}

export interface BatchReport {
  op: string | null;
  type: SyncType;
  priority: Priority;
  requestIds: string[];
  outcome: RequestOutcome['status'];
  result: RequestResult | null;
  message: string;
  exitCode: number;
}

export interface ProcessReport {
  /** False when the lock was busy and lockTimeoutMs was 0. */
  acquired: boolean;
  batches: BatchReport[];
  outcomes: Map<string, RequestOutcome>;
  /** The last sync this process ran, for serving requests it already covered. */
  covered?: Covered | null;
}

export function newOpId(now = Date.now()): string {
  const d = new Date(now).toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return `${d}-${randomBytes(3).toString('hex')}`;
}

export async function processQueue(opts: ProcessOptions): Promise<ProcessReport> {
  // Before the lock: a tracked lock-owner.json is not this device's lock either. The
  // daemon runs for days; a user's own `git pull` can bring such files in meanwhile.
  await assertStateUntracked(opts.ws);
  const report: ProcessReport = { acquired: false, batches: [], outcomes: new Map() };
  let timeout = opts.lockTimeoutMs;
  for (;;) {
    let lock: LockHandle;
    try {
      lock = await acquireLock(
        { paths: opts.ws.paths, logger: opts.logger, staleMs: opts.config.lock_stale_ms, repo: opts.ws },
        { caller: opts.caller, timeoutMs: timeout, ...(opts.signal ? { signal: opts.signal } : {}) },
      );
    } catch (e) {
      if (e instanceof LockBusyError && (timeout === 0 || report.acquired)) return report;
      throw e;
    }
    report.acquired = true;
    try {
      await drainUnderLock(opts, lock, report);
    } finally {
      await lock.release();
    }
    // No lost wakeup: a request written while we held the lock saw "busy" and left
    // the work to us. Its writer may have exited already, so look once more.
    if (opts.signal?.aborted || !(await hasDueWork(opts))) return report;
    timeout = 0;
  }
}

async function hasDueWork(opts: ProcessOptions): Promise<boolean> {
  const now = (opts.clock ?? Date.now)();
  const entries = await readQueue(opts.ws.paths.queue, opts.logger);
  return entries.some((e) => !isDeferred(e, now));
}

function isDeferred(e: QueueEntry, now: number): boolean {
  return !!e.request.deferred_until && Date.parse(e.request.deferred_until) > now;
}

async function drainUnderLock(opts: ProcessOptions, lock: LockHandle, report: ProcessReport): Promise<void> {
  const store = await openStateStore(opts.ws.paths.state, opts.logger);
  if (store.get().active) {
    // Only after a crash or a failed cleanup: the recovery code is not loaded otherwise.
    const { recoverInterruptedOp } = await import('../git/recovery.js');
    await recoverInterruptedOp({ ws: opts.ws, store, logger: opts.logger, lock });
  }
  await sweepTemp(opts.ws.paths.queue);
  await pruneResults(opts.ws.paths.results);
  // Kept across this process's re-acquisitions of the lock (the no-lost-wakeup re-check).
  let covered: Covered | null = report.covered ?? null;
  for (let round = 0; !opts.signal?.aborted; round++) {
    // Requests that arrived during the last sync often come in a storm (one save, many
    // scripts): let it settle briefly so that one more sync serves them all.
    if (round > 0) await settleQueue(opts.ws.paths.queue, opts.signal);
    const now = (opts.clock ?? Date.now)();
    let entries = await readQueue(opts.ws.paths.queue, opts.logger);
    const served = new Set(store.get().last_served);
    const leftovers = entries.filter((e) => served.has(e.request.id));
    if (leftovers.length) {
      await removeEntries(leftovers);
      entries = entries.filter((e) => !served.has(e.request.id));
    }
    const rejectedAtEnqueue = entries.filter((e) => e.request.rejected_at);
    if (rejectedAtEnqueue.length) await accountRejectedAtEnqueue(opts, store, rejectedAtEnqueue, report);
    let pending = entries.filter((e) => !e.request.rejected_at);
    // Requests made before the last sync looked at the work tree are already served by
    // it (their change was on disk): no second sync for them (invariant 3).
    if (covered) {
      const c = covered;
      const alreadyServed = pending.filter((e) => Date.parse(e.request.created_at) < c.before && TYPE_STRENGTH[e.request.type] <= TYPE_STRENGTH[c.type]);
      if (alreadyServed.length) {
        await finishCovered(opts, store, alreadyServed, report, c);
        pending = pending.filter((e) => !alreadyServed.includes(e));
      }
    }
    // Deferred low requests wait for the window to reset, unless something stronger runs anyway.
    const due = pending.filter((e) => !isDeferred(e, now));
    if (due.length === 0) return;
    const batch = pending;
    const priority = maxBy(
      batch.map((e) => e.request.priority),
      (p) => PRIORITY_RANK[p],
    );
    const type = maxBy(
      batch.map((e) => e.request.type),
      (t) => TYPE_STRENGTH[t],
    );
    const decision = decide(opts.config, store.get().rate_limit, priority, now);
    if (!decision.allowed) {
      await refuseBatch(opts, store, batch, decision.resetsAt, decision.used, decision.limit, report, now);
      continue;
    }
    const blocker = await guidedMergeBlocker(opts.ws.root, store.get().paused);
    if (blocker) {
      await finishBatch(opts, store, batch, report, {
        op: null,
        type,
        priority,
        result: 'conflict',
        message: blocker,
        exitCode: ExitCode.conflict,
        counted: false,
        outcome: null,
      });
      continue;
    }
    if (store.get().paused && type !== 'manual') {
      await finishBatch(opts, store, batch, report, {
        op: null,
        type,
        priority,
        // Exit 5 is "conflict left for manual resolution": the result says the same.
        result: 'conflict',
        message: pausedMessage(store.get().paused!),
        exitCode: ExitCode.conflict,
        counted: false,
        outcome: null,
      });
      continue;
    }
    covered = await runBatch(opts, lock, store, batch, type, priority, report);
    report.covered = covered;
  }
}

/**
 * A storm ends at the first 400 ms without a new request: node processes started
 * together on a loaded machine arrive in bursts with gaps of 150-300 ms between them.
 * The cap only bounds a storm that never pauses: 100 scripts started at once take about
 * 6 s to all start on a 2-core machine. (Measured with `npm run bench coalescing`: 150 ms
 * and 2 s split such a storm over three syncs, the third a no-op, in one run of three.)
 */
const SETTLE_QUIET_MS = 400;
const SETTLE_MAX_MS = 5000;

/** Wait until no new request has arrived for SETTLE_QUIET_MS (at most SETTLE_MAX_MS). */
async function settleQueue(queueDir: string, signal?: AbortSignal): Promise<void> {
  const start = Date.now();
  let count = await countQueue(queueDir);
  if (count === 0) return;
  let quietSince = Date.now();
  while (Date.now() - start < SETTLE_MAX_MS && Date.now() - quietSince < SETTLE_QUIET_MS && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, 30));
    const next = await countQueue(queueDir);
    if (next !== count) {
      count = next;
      quietSince = Date.now();
    }
  }
}

/** A finished sync and the moment it read the work tree (requests made before are served by it). */
interface Covered {
  before: number;
  op: string;
  type: SyncType;
  result: RequestResult;
  message: string;
}

async function finishCovered(opts: ProcessOptions, store: StateStore, entries: QueueEntry[], report: ProcessReport, c: Covered): Promise<void> {
  const finishedAt = new Date((opts.clock ?? Date.now)()).toISOString();
  for (const e of entries) {
    const outcome: RequestOutcome = {
      id: e.request.id,
      status: 'merged',
      result: c.result,
      op: c.op,
      message: `${c.message} (served by op ${c.op}, which started after this request)`,
      exit_code: ExitCode.ok,
      finished_at: finishedAt,
    };
    report.outcomes.set(e.request.id, outcome);
    await writeResult(opts.ws.paths.results, outcome);
  }
  await store.update((s) => {
    s.stats.requests += entries.length;
    s.stats.merged += entries.length;
    s.last_served = entries.map((e) => e.request.id);
  });
  await removeEntries(entries);
  opts.logger.debug({ op: c.op, requests: entries.length }, 'requests made before the last sync read the work tree: served by it');
}

async function runBatch(
  opts: ProcessOptions,
  lock: LockHandle,
  store: StateStore,
  batch: QueueEntry[],
  type: SyncType,
  priority: Priority,
  report: ProcessReport,
): Promise<Covered | null> {
  const opId = newOpId((opts.clock ?? Date.now)());
  const log = opts.logger.child({ op: opId, type });
  const history = historyRecorder(opts.ws, opts.ws.git.withOp(opId, { logger: log }), opts.clock ?? Date.now);
  await lock.setOp(opId);
  const me = selfIdentity();
  // Not fsynced: until `mark` (durable) records a rebase or merge, a crash leaves
  // nothing to recover, and `mark` writes this record durably along with it.
  await store.update(
    (s) => {
      s.active = {
        op: opId,
        type,
        step: 'queued',
        started_at: new Date().toISOString(),
        pid: me.pid,
        start_time: me.start_time,
        branch: null,
        backup_ref: null,
        integrating: null,
        request_ids: batch.map((e) => e.request.id),
      };
    },
    { durable: false },
  );
  log.info({ requests: batch.length, priority, callers: [...new Set(batch.map((e) => e.request.caller))].slice(0, 10) }, 'sync started');
  let outcome: SyncOutcome | null = null;
  let error: unknown = null;
  let readTreeAt: number | null = null;
  const signal = opts.signal ? AbortSignal.any([lock.signal, opts.signal]) : lock.signal;
  try {
    outcome = await runPipeline({
      ws: opts.ws,
      state: store,
      git: opts.ws.git.withOp(opId, { signal, logger: log }),
      config: opts.config,
      logger: log,
      opId,
      type,
      device: deviceName(opts.config),
      signal,
      clock: opts.clock ?? Date.now,
      step: async (name) => {
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new SyncFailedError('sync aborted', { code: 'EABORTED' });
        await lock.assertOwned();
        // The step is for `status`; the recovery marker (mark) is what must be durable.
        await store.update(
          (s) => {
            if (s.active) s.active.step = name;
          },
          { durable: false },
        );
        log.debug({ step: name }, 'step');
        // Preflight reads the work tree's status; what was on disk before is in this sync.
        if (name === 'preflight') readTreeAt = (opts.clock ?? Date.now)();
        history.step(name);
        opts.onStep?.(name, opId);
      },
      mark: async (marker) => {
        await lock.assertOwned();
        // Setting the marker is fsynced (recovery needs it even after a power loss);
        // clearing it is not: a stale marker only makes recovery look and find nothing.
        await store.update(
          (s) => {
            if (s.active) Object.assign(s.active, marker);
          },
          { durable: marker.moving !== null },
        );
      },
    });
  } catch (e) {
    error = e;
  }
  const failed = error !== null;
  const err =
    error instanceof CoordinatorError
      ? error
      : error
        ? new SyncFailedError(error instanceof Error ? error.message : String(error), { code: 'ESYNC', cause: error })
        : null;
  const result: RequestResult = err ? (err.exitCode === ExitCode.conflict ? 'conflict' : 'failed') : outcome?.result === 'noop' ? 'noop' : 'ok';
  // The user's own rebase or a detached HEAD: hands off (invariant 5). Nothing failed;
  // the sync was refused until the user is done.
  const refused = err instanceof RepoBusyError;
  const counted = !!outcome && (outcome.committed || outcome.pushed);
  const message = err ? err.message : (outcome?.message ?? '');
  if (refused) log.warn({ reason: message, code: err?.code }, "sync refused: the repository is busy with the user's own git operation; trying again later");
  else if (failed) log.error({ err: message, code: err?.code }, 'sync failed');
  else log.info({ result, committed: outcome?.committed, pulled: outcome?.pulled, pushed: outcome?.pushed, head: outcome?.head }, 'sync finished');
  // A move cut short keeps its recovery marker (finishBatch clears `active`): the next
  // drain completes it.
  const unfinished = store.get().active?.moving ? structuredClone(store.get().active) : null;
  await finishBatch(opts, store, batch, report, {
    op: opId,
    type,
    priority,
    result,
    message,
    exitCode: err ? err.exitCode : ExitCode.ok,
    counted,
    outcome,
    refused,
    error: err,
  });
  await history.finish(
    {
      op: opId,
      type,
      priority,
      callers: [...new Set(batch.map((e) => e.request.caller))],
      requests: batch.length,
      result: refused ? 'refused' : result,
      message,
    },
    log,
  );
  if (unfinished) {
    log.error({ moving: unfinished.moving }, 'the sync left an unfinished move of the branch and index; it is completed before the next sync');
    await store.update((s) => {
      s.active = unfinished;
    });
  }
  return !err && readTreeAt !== null && !unfinished ? { before: readTreeAt, op: opId, type, result, message } : null;
}

interface Finish {
  op: string | null;
  type: SyncType;
  priority: Priority;
  result: RequestResult;
  message: string;
  exitCode: number;
  counted: boolean;
  outcome: SyncOutcome | null;
  /** Hands-off refusal (RepoBusyError): counted as refused, not as a failed sync. */
  refused?: boolean;
  error?: CoordinatorError | null;
}

async function finishBatch(opts: ProcessOptions, store: StateStore, batch: QueueEntry[], report: ProcessReport, f: Finish): Promise<void> {
  const now = (opts.clock ?? Date.now)();
  const finishedAt = new Date(now).toISOString();
  const ran = f.op !== null;
  batch.forEach((e, i) => {
    const outcome: RequestOutcome = {
      id: e.request.id,
      status: i === 0 ? 'processed' : 'merged',
      result: f.result,
      op: f.op,
      message: f.message,
      exit_code: f.exitCode,
      finished_at: finishedAt,
    };
    report.outcomes.set(e.request.id, outcome);
  });
  await Promise.all([...batch].map((e) => writeResult(opts.ws.paths.results, report.outcomes.get(e.request.id)!)));
  // A successful manual sync after a conflict left for the user: they merged by hand, so
  // the conflicts it left are closed too (not only the pause).
  const handMerged = ran && !f.refused && (f.result === 'ok' || f.result === 'noop') && f.type === 'manual' ? (store.get().paused?.paths ?? []) : [];
  for (const path of handMerged) appendConflict(opts.ws.paths.conflictsLog, { time: finishedAt, resolved: path });
  await store.update((s) => {
    s.stats.requests += batch.length;
    s.stats.merged += Math.max(0, batch.length - 1);
    if (ran && f.refused) {
      s.stats.refused = (s.stats.refused ?? 0) + 1;
      s.last_op = { op: f.op!, type: f.type, result: 'refused', finished_at: finishedAt, message: f.message.slice(0, 500) };
    } else if (ran) {
      if (f.result === 'ok' || f.result === 'noop') {
        s.stats.syncs_ok += 1;
        s.stats.last_success_at = finishedAt;
        // The state tells the truth: an error that a later sync got past is history.
        s.stats.last_error = null;
        s.last_failure = null;
        if (f.result === 'noop') s.stats.noops += 1;
        if (f.type === 'manual' && s.paused && !isUserPause(s.paused)) s.paused = null; // a successful manual sync resumes automatic ones
      } else {
        s.stats.syncs_failed += 1;
        s.stats.last_error = f.message.slice(0, 500);
        if (f.error) s.last_failure = recordFailure(s.last_failure, { code: f.error.code, message: f.message, retryable: f.error.retryable }, now);
      }
      if (f.counted) s.rate_limit = recordSync(opts.config, s.rate_limit, now);
      s.last_op = { op: f.op!, type: f.type, result: f.result, finished_at: finishedAt, message: f.message.slice(0, 500) };
    }
    s.active = null;
    s.last_served = batch.map((e) => e.request.id);
  });
  // Delete the spool files last: a kill before this line re-serves them, never loses them.
  await removeEntries(batch);
  report.batches.push({
    op: f.op,
    type: f.type,
    priority: f.priority,
    requestIds: batch.map((e) => e.request.id),
    outcome: 'processed',
    result: f.result,
    message: f.message,
    exitCode: f.exitCode,
  });
}

/** Over the limit: low waits in the queue until the reset; others are rejected (exit 3). */
async function refuseBatch(
  opts: ProcessOptions,
  store: StateStore,
  batch: QueueEntry[],
  resetsAt: string | null,
  used: number,
  limit: number,
  report: ProcessReport,
  now: number,
): Promise<void> {
  const rejected = batch.filter((e) => e.request.priority !== 'low');
  const deferred = batch.filter((e) => e.request.priority === 'low');
  const message = rateLimitMessage(used, limit, resetsAt, 'low');
  const messageFor = (p: Priority) => rateLimitMessage(used, limit, resetsAt, p, opts.config.burst_capacity);
  const finishedAt = new Date(now).toISOString();
  let newlyDeferred = 0;
  for (const e of deferred) {
    const until = resetsAt ?? new Date(now + 60_000).toISOString();
    if (!e.request.deferred_until) newlyDeferred++;
    e.request.deferred_until = until;
    await rewriteEntry(e);
    const outcome: RequestOutcome = {
      id: e.request.id,
      status: 'deferred',
      result: null,
      op: null,
      message,
      exit_code: ExitCode.ok,
      finished_at: finishedAt,
      resets_at: resetsAt,
    };
    report.outcomes.set(e.request.id, outcome);
  }
  for (const e of rejected) {
    const outcome: RequestOutcome = {
      id: e.request.id,
      status: 'rejected',
      result: null,
      op: null,
      message: messageFor(e.request.priority),
      exit_code: ExitCode.rateLimited,
      finished_at: finishedAt,
      resets_at: resetsAt,
    };
    report.outcomes.set(e.request.id, outcome);
    await writeResult(opts.ws.paths.results, outcome);
  }
  await store.update((s) => {
    s.stats.rejected += rejected.length;
    s.stats.requests += rejected.length;
    s.stats.deferred += newlyDeferred;
    s.last_served = rejected.map((e) => e.request.id);
  });
  await removeEntries(rejected);
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
  });
}

/** Requests that `request-sync` already rejected at once: only counted here, under the lock. */
async function accountRejectedAtEnqueue(opts: ProcessOptions, store: StateStore, entries: QueueEntry[], report: ProcessReport): Promise<void> {
  await store.update((s) => {
    s.stats.requests += entries.length;
    s.stats.rejected += entries.length;
    s.last_served = entries.map((e) => e.request.id);
  });
  await removeEntries(entries);
  for (const e of entries)
    report.outcomes.set(e.request.id, {
      id: e.request.id,
      status: 'rejected',
      result: null,
      op: null,
      message: 'rejected by the rate limit',
      exit_code: ExitCode.rateLimited,
      finished_at: new Date().toISOString(),
    });
}

/** Kept for callers of the old location; the message lives in rate-limit.ts. */
export { rateLimitMessage };

/** Why automatic syncs wait, with a command that works when pasted (for the first path). */
function pausedMessage(p: PauseState): string {
  if (isUserPause(p)) return `automatic syncs are ${USER_PAUSE_REASON}; they wait until resumed (POST .../resume or the dashboard); sync-now still syncs`;
  const first = p.paths[0];
  if (isGuidedMerge(p) && first)
    return `automatic syncs are paused while you merge ${first} (conflicts --merge); when it has what you want, run: ${conflictsCommand('--resolve', first)}`;
  const each = p.paths.length > 1 ? ' (then the same for each other path)' : '';
  return `automatic syncs are paused after a conflict left for manual resolution (${p.paths.join(', ')}); when you have merged it by hand, run: ${first ? conflictsCommand('--resolve', first) : 'sync-coordinator conflicts'}${each}`;
}

function maxBy<T>(items: T[], rank: (t: T) => number): T {
  return items.reduce((best, x) => (rank(x) > rank(best) ? x : best));
}
