/**
 * The queue processor. Under the workspace lock it takes every pending request and
 * serves them with one sync at the highest pending priority and the strongest pending
 * type (invariant 3), applies the rate limit (invariant 6), records each request's
 * outcome, and after releasing the lock looks at the queue again so that a request
 * written while it held the lock is never stranded (invariant 2).
 *
 * This module decides what each drain round does; settle.ts records how requests
 * leave the queue, sync-batch.ts runs one sync.
 */
import { admission, needsProcessor } from './admission.js';
import { type Covered, type Drain, nowOf, type ProcessOptions, type ProcessReport } from './drain-types.js';
import { ExitCode, LockBusyError } from '../shared/errors.js';
import { guidedMergeBlocker } from './guided-merge.js';
import { acquireLock, type LockHandle } from './lock.js';
import { pauseBlocks, pausedMessage } from './pause.js';
import { countQueue, readQueue, removeEntries, sweepTemp } from './queue.js';
import { decide } from './rate-limit.js';
import { PRIORITY_RANK, TYPE_STRENGTH } from './request.js';
import { pruneResults } from './results.js';
import { settleBatch, settleCovered, settleRefused, settleRejectedAtEnqueue } from './settle.js';
import { openStateStore } from '../shared/state.js';
import { runBatch } from './sync-batch.js';
import { assertStateUntracked } from './tracked-state.js';

export type { ProcessOptions, ProcessReport } from './drain-types.js';
export { newOpId } from './op-id.js';

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
  const now = nowOf(opts);
  const entries = await readQueue(opts.ws.paths.queue, opts.logger);
  return entries.some((e) => needsProcessor(e.request, now));
}

async function drainUnderLock(opts: ProcessOptions, lock: LockHandle, report: ProcessReport): Promise<void> {
  const store = await openStateStore(opts.ws.paths.state, opts.logger);
  const d: Drain = { opts, store, report };
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
    const now = nowOf(opts);
    let entries = await readQueue(opts.ws.paths.queue, opts.logger);
    const served = new Set(store.get().last_served);
    const leftovers = entries.filter((e) => served.has(e.request.id));
    if (leftovers.length) {
      await removeEntries(leftovers);
      entries = entries.filter((e) => !served.has(e.request.id));
    }
    const rejectedAtEnqueue = entries.filter((e) => admission(e.request, now) === 'rejected');
    if (rejectedAtEnqueue.length) await settleRejectedAtEnqueue(d, rejectedAtEnqueue);
    let pending = entries.filter((e) => admission(e.request, now) !== 'rejected');
    // Requests made before the last sync looked at the work tree are already served by
    // it (their change was on disk): no second sync for them (invariant 3).
    if (covered) {
      const c = covered;
      const alreadyServed = pending.filter((e) => Date.parse(e.request.created_at) < c.before && TYPE_STRENGTH[e.request.type] <= TYPE_STRENGTH[c.type]);
      if (alreadyServed.length) {
        await settleCovered(d, alreadyServed, c);
        pending = pending.filter((e) => !alreadyServed.includes(e));
      }
    }
    // Deferred low requests wait for the window to reset, unless something stronger runs anyway.
    if (!pending.some((e) => admission(e.request, now) === 'due')) return;
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
      await settleRefused(d, batch, decision);
      continue;
    }
    // Not started: a guided merge whose file still has markers, or the pause after a
    // conflict left for the user. Exit 5 is "conflict left for manual resolution": the
    // result says the same.
    const paused = store.get().paused;
    const notStarted = (await guidedMergeBlocker(opts.ws.root, paused)) ?? (pauseBlocks(paused, type) ? pausedMessage(paused) : null);
    if (notStarted) {
      await settleBatch(d, batch, { op: null, type, priority, result: 'conflict', message: notStarted, exitCode: ExitCode.conflict, counted: false });
      continue;
    }
    covered = await runBatch(d, lock, batch, type, priority);
    report.covered = covered;
  }
}

/**
 * A storm ends at the first 400 ms without a new request: node processes started
 * together on a loaded machine arrive in bursts with gaps of 150-300 ms between them.
 * The cap only bounds a storm that never pauses: 100 scripts started at once take about
 * 6 s to all start on a 2-core machine. A shorter quiet time or cap splits such a storm
 * over more syncs (README, "Measured": `npm run bench coalescing`).
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

function maxBy<T>(items: T[], rank: (t: T) => number): T {
  return items.reduce((best, x) => (rank(x) > rank(best) ? x : best));
}
