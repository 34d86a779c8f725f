/**
 * One batch's sync, from its op id to its settled requests: it records the op as
 * active, runs the git pipeline with the step and recovery-marker callbacks (each step
 * re-checks that we still own the lock), applies the policies that sit above git (the
 * remote's circuit breaker, the pause after a conflict left for the user), and settles
 * the batch. Every sync that runs ends in `endSync`, once.
 */
import { runPipeline } from '../git/pipeline.js';
import { deviceName, type SyncOutcome } from '../git/sync-context.js';
import { recordRemoteOutcome, remoteAccess } from './breaker-policy.js';
import type { RemoteAccess } from '../git/sync-context.js';
import type { Priority, SyncType } from '../shared/config.js';
import { type Covered, type Drain, nowOf } from './drain-types.js';
import { ConflictError, CoordinatorError, ExitCode, RepoBusyError, SyncFailedError } from '../shared/errors.js';
import { type HistoryRecorder, historyRecorder } from './history.js';
import type { LockHandle } from './lock.js';
import { newOpId } from './op-id.js';
import { pauseForConflicts } from './pause.js';
import { selfIdentity } from '../shared/process-identity.js';
import type { QueueEntry } from './queue.js';
import type { RequestResult } from './results.js';
import { settleBatch } from './settle.js';

export async function runBatch(d: Drain, lock: LockHandle, batch: QueueEntry[], type: SyncType, priority: Priority): Promise<Covered | null> {
  const { opts, store } = d;
  const opId = newOpId(nowOf(opts));
  const log = opts.logger.child({ op: opId, type });
  const history = historyRecorder(opts.ws, opts.clock ?? Date.now);
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
  const access: RemoteAccess = remoteAccess(store.get(), opts.config, nowOf(opts));
  // Counted whether the sync succeeds or fails: retries that did not save it show a flaky remote too.
  const retries: Record<string, number> = {};
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
      remoteAccess: access,
      signal,
      clock: opts.clock ?? Date.now,
      retried: (step) => {
        retries[step] = (retries[step] ?? 0) + 1;
      },
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
        if (name === 'preflight') readTreeAt = nowOf(opts);
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
  // Policy above git: the breaker counts a network failure or closes after a success; a
  // conflict left for the user (`manual` policy) pauses automatic syncs.
  await recordRemoteOutcome(store, opts.config, log, nowOf(opts), error);
  if (error instanceof ConflictError) await pauseForConflicts(store, { paths: error.paths, op: opId, at: nowOf(opts) });
  return endSync(d, batch, { opId, type, priority, log, history, retries }, outcome, error, readTreeAt);
}

/** The one place where a batch's sync ends: classify, log, settle the batch, keep an unfinished move for the next drain. */
async function endSync(
  d: Drain,
  batch: QueueEntry[],
  run: { opId: string; type: SyncType; priority: Priority; log: Drain['opts']['logger']; history: HistoryRecorder; retries: Record<string, number> },
  outcome: SyncOutcome | null,
  error: unknown,
  readTreeAt: number | null,
): Promise<Covered | null> {
  const { store } = d;
  const { opId, type, priority, log } = run;
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
  else if (error !== null) log.error({ err: message, code: err?.code }, 'sync failed');
  else log.info({ result, committed: outcome?.committed, pulled: outcome?.pulled, pushed: outcome?.pushed, head: outcome?.head }, 'sync finished');
  // A move cut short keeps its recovery marker (settleBatch clears `active`): the next
  // drain completes it.
  const unfinished = store.get().active?.moving ? structuredClone(store.get().active) : null;
  await settleBatch(d, batch, {
    op: opId,
    type,
    priority,
    result,
    message,
    exitCode: err ? err.exitCode : ExitCode.ok,
    counted,
    refused,
    error: err,
    retries: run.retries,
  });
  await run.history.finish({ op: opId, type, priority, batch, result: refused ? 'refused' : result, message }, log);
  if (unfinished) {
    log.error({ moving: unfinished.moving }, 'the sync left an unfinished move of the branch and index; it is completed before the next sync');
    await store.update((s) => {
      s.active = unfinished;
    });
  }
  return !err && readTreeAt !== null && !unfinished ? { before: readTreeAt, op: opId, type, result, message } : null;
}
