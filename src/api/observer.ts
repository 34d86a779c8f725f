/**
 * Turns what a workspace unit reports into bus events, without touching the coordinator
 * or the pipeline: `step.started` from its step callback; `sync.finished` (with the
 * callers of the requests it served and the retries it made) and `ratelimit.hit` (with
 * the request's caller) from each processQueue report (also a rejection at enqueue,
 * counted there, whoever enqueued it: CLI, hook, watcher or API); and `conflict`, `breaker.changed` and
 * `remote.rewritten` by comparing coordinator-state.json (breakers, remote_rewrite) and
 * the new lines of conflicts.log before and after each report. Reports of one workspace
 * are handled one at a time, in order; an error here is logged and never reaches the
 * sync that caused it.
 */
import { promises as fs } from 'node:fs';
import type { Config } from '../shared/config.js';
import type { ProcessReport } from '../core/coordinator.js';
import { parseConflictLog } from '../git/conflict-log.js';
import { historyPath, readHistory } from '../core/history.js';
import { rateLimitView } from '../core/rate-limit.js';
import { readState, type BreakerState, type CoordinatorState } from '../shared/state.js';
import type { Workspace } from '../git/workspace.js';
import type { EventBus } from '../shared/events.js';
import type { WorkspaceObserver } from '../core/served.js';
import { withFilesChanged } from './history-view.js';
import type { Logger } from '../shared/log.js';

export async function observeWorkspace(o: { id: string; ws: Workspace; config: () => Config; bus: EventBus; logger: Logger }): Promise<WorkspaceObserver> {
  const { id, ws, bus } = o;
  let before = await snapshot(ws);
  let chain: Promise<void> = Promise.resolve();

  async function afterReport(report: ProcessReport): Promise<void> {
    const ran = report.batches.filter((b) => b.op !== null);
    const records = ran.length
      ? await withFilesChanged(
          ws,
          (await readHistory(historyPath(ws), 20)).filter((r) => ran.some((b) => b.op === r.op)),
        )
      : [];
    for (const b of ran) {
      const h = records.find((r) => r.op === b.op);
      bus.emit('sync.finished', id, {
        op: b.op,
        type: b.type,
        result: b.result,
        message: b.message,
        exit_code: b.exitCode,
        duration_ms: h?.duration_ms ?? null,
        files_changed: h?.files_changed_count ?? null,
        request_ids: b.requestIds,
        requests_by_caller: b.callers,
        retries: Object.values(b.retries).reduce((n, k) => n + k, 0),
        retries_by_step: b.retries,
      });
    }
    const after = await snapshot(ws);
    const rejected = [...report.outcomes.values()].filter((out) => out.status === 'rejected' || (out.status === 'deferred' && !before.deferred.has(out.id)));
    if (rejected.length) {
      const rl = rateLimitView(o.config(), after.state.rate_limit, Date.now());
      for (const out of rejected)
        bus.emit('ratelimit.hit', id, {
          request_id: out.id,
          status: out.status,
          caller: report.callers?.get(out.id) ?? null,
          used: rl.used,
          limit: rl.limit,
          resets_at: out.resets_at ?? rl.resets_at,
        });
    }
    for (const rec of after.conflicts.slice(before.conflictCount)) if (!('resolved' in rec)) bus.emit('conflict', id, { ...rec });
    for (const [remote, b] of Object.entries(after.state.breakers)) {
      const prev: BreakerState | undefined = before.state.breakers[remote];
      if ((prev?.state ?? 'closed') !== b.state)
        bus.emit('breaker.changed', id, { remote, from: prev?.state ?? 'closed', to: b.state, open_until: b.open_until, failures: b.failures });
    }
    const rw = after.state.remote_rewrite;
    if (rw && (before.state.remote_rewrite?.op !== rw.op || before.state.remote_rewrite?.at !== rw.at))
      bus.emit('remote.rewritten', id, { op: rw.op, old: rw.old, new: rw.new, backup_ref: rw.backup_ref });
    for (const d of [...before.deferred].slice(-1000)) after.deferred.add(d);
    for (const out of report.outcomes.values()) if (out.status === 'deferred') after.deferred.add(out.id);
    before = after;
  }

  return {
    step: (step, op) => bus.emit('step.started', id, { op, step }),
    report(report) {
      chain = chain
        .then(() => afterReport(report))
        .catch((e: unknown) => o.logger.warn({ id, err: e instanceof Error ? e.message : String(e) }, 'could not turn a sync report into events'));
    },
  };
}

interface Snapshot {
  state: CoordinatorState;
  conflicts: ReturnType<typeof parseConflictLog>;
  conflictCount: number;
  /** Deferred request ids already reported, so each deferral is one event. */
  deferred: Set<string>;
}

async function snapshot(ws: Workspace): Promise<Snapshot> {
  const [state, text] = await Promise.all([readState(ws.paths.state, null), fs.readFile(ws.paths.conflictsLog, 'utf8').catch(() => '')]);
  const conflicts = parseConflictLog(text);
  return { state, conflicts, conflictCount: conflicts.length, deferred: new Set() };
}
