/**
 * The `status --json` object (DESIGN.md section 3): built from files only, read-only,
 * never waits for the lock.
 */
import { promises as fs } from 'node:fs';
import { admission, countAdmissions } from './admission.js';
import type { Config } from '../shared/config.js';
import { inspectLock } from './lock.js';
import { readQueue } from './queue.js';
import { rateLimitView } from './rate-limit.js';
import { emptyState, readState } from '../shared/state.js';
import { backoffFor } from '../shared/failure-record.js';
import type { Workspace } from '../git/workspace.js';
import { readDaemonInfo } from './pidfile.js';
import { breakerView } from './breaker.js';
import { daemonStatePath, readDaemonState } from './daemon-state.js';
import { trackedStatePaths } from './tracked-state.js';
import { globalWebhooks, webhooksView } from './webhook-deliveries.js';

export async function buildStatus(ws: Workspace, config: Config, now = Date.now()) {
  const [lock, entries, { state, corrupt }, daemon, openConflicts, daemonState, trackedState, webhooks] = await Promise.all([
    inspectLock(ws.paths, config.lock_stale_ms),
    readQueue(ws.paths.queue, null),
    readStateChecked(ws.paths.state),
    readDaemonInfo(ws.paths.daemonPid),
    countOpenConflicts(ws),
    readDaemonState(daemonStatePath(ws.paths.dir)),
    trackedStatePaths(ws),
    globalWebhooks().then((global) => webhooksView(ws.paths.dir, [...config.webhooks, ...global])),
  ]);
  // daemon-state.json outlives the daemon: only trust it for the daemon that runs now.
  const live = daemon.running && daemonState && daemonState.pid === daemon.pid ? daemonState : null;
  const pending = entries.filter((e) => admission(e.request, now) !== 'rejected');
  const byPriority = { critical: 0, high: 0, normal: 0, low: 0 };
  for (const e of pending) byPriority[e.request.priority]++;
  const deferred = countAdmissions(
    pending.map((e) => e.request),
    now,
  ).deferred;
  const owner = lock.owner ? { caller: lock.owner.caller, pid: lock.owner.pid, host: lock.owner.host, since: lock.owner.since, op: lock.owner.op } : null;
  // An op recorded without a lock holder was interrupted (crash, failed cleanup): the
  // next sync recovers it. Shown so that a leftover recovery marker is visible.
  const active = state.active
    ? { op: state.active.op, type: state.active.type, step: state.active.step, started_at: state.active.started_at, interrupted: !lock.held }
    : null;
  return {
    lock: { held: lock.held, stale: lock.stale, owner },
    queue: { pending: pending.length, deferred, by_priority: byPriority },
    rate_limit: rateLimitView(config, state.rate_limit, now),
    active,
    stats: {
      requests: state.stats.requests,
      merged: state.stats.merged,
      syncs_ok: state.stats.syncs_ok,
      syncs_failed: state.stats.syncs_failed,
      rejected: state.stats.rejected,
      deferred: state.stats.deferred,
      noops: state.stats.noops,
      refused: state.stats.refused ?? 0,
      last_success_at: state.stats.last_success_at,
      last_error: state.stats.last_error,
    },
    breaker: breakerView(state.breakers[config.remote], config, now),
    daemon: {
      running: daemon.running,
      pid: daemon.pid,
      since: daemon.since,
      last_cycle_at: live?.last_cycle_at ?? null,
      paused_reason: live?.paused_reason ?? null,
      health: live?.last_health ? { at: live.last_health.at, ok: live.last_health.ok, problems: live.last_health.problems } : null,
    },
    watcher: live?.watcher
      ? {
          mode: live.watcher.mode,
          watching: live.watcher.watching,
          pending: live.watcher.pending,
          last_event_at: live.watcher.lastEventAt,
          last_fire_at: live.watcher.lastFireAt,
          error: live.watcher.error,
        }
      : live?.watcher_error
        ? { mode: 'off', watching: false, pending: 0, last_event_at: null, last_fire_at: null, error: live.watcher_error }
        : null,
    // `auto_merged` is additive (issue 13): concurrent edits the resolver merged on this device.
    conflicts: { open: openConflicts.open, auto_merged: openConflicts.auto_merged },
    // Additive keys (issue 12): a corrupt state file reads as fresh stats, so say so;
    // automatic syncs waiting after a repeated identical failure.
    state_file: { corrupt },
    backoff: backoffFor(state.last_failure, config, now),
    paused: state.paused,
    last_op: state.last_op,
    /** Paths under the state directory that git tracks: nothing syncs until they are untracked. */
    tracked_state: trackedState,
    /** Paths the commit step leaves out (invariant 16), since when. */
    excluded: state.excluded,
    /** The last rewrite of the remote branch by another device that a sync followed (invariant 15). */
    remote_rewrite: state.remote_rewrite ?? null,
    /** The last time the remote tracked files under the state directory and a sync untracked them (invariant 14). */
    untracked_state: state.untracked_state ?? null,
    /** Additive (issue 16): this workspace's webhooks and their last deliveries, newest first; never a secret. */
    webhooks,
    workspace: ws.root,
  };
}

export type StatusView = Awaited<ReturnType<typeof buildStatus>>;

/**
 * Open conflicts as every device sees them: `left-for-user` records of conflicts.log plus
 * the conflict copies tracked in the tree (also those other devices made).
 */
async function countOpenConflicts(ws: Workspace): Promise<{ open: number; auto_merged: number }> {
  const text = await fs.readFile(ws.paths.conflictsLog, 'utf8').catch(() => '');
  const { readConflictsView } = await import('../git/tree-conflicts.js');
  const { autoMerges, openConflicts } = await import('../git/conflict-log.js');
  const auto_merged = autoMerges(text).length;
  try {
    return { open: (await readConflictsView(ws.git, text)).count, auto_merged };
  } catch {
    // git unavailable for a moment: the log alone still says something.
    return { open: openConflicts(text).length, auto_merged };
  }
}

/** Like readState, but says whether the file was there and unreadable (a fresh state is shown then). */
async function readStateChecked(file: string): Promise<{ state: Awaited<ReturnType<typeof readState>>; corrupt: boolean }> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return { state: emptyState(), corrupt: false };
  }
  const state = await readState(file, null);
  let corrupt = false;
  try {
    const raw = JSON.parse(text) as { version?: unknown; stats?: { requests?: unknown } } | null;
    corrupt = raw?.version !== 1 || typeof raw.stats?.requests !== 'number';
  } catch {
    corrupt = true;
  }
  return { state, corrupt };
}
