/**
 * coordinator-state.json: rate-limit window, stats, breakers, the active operation and
 * the recovery marker. Read by anyone; written only by the lock holder, atomically
 * (temp + fsync + rename). A corrupt file is moved aside and rebuilt (invariant 10).
 */
import { promises as fs } from 'node:fs';
import { quarantine, writeFileAtomic } from './atomic-file.js';
import type { Logger } from './log.js';
import type { SyncType } from './config.js';
import type { FailureRecord } from './failure-record.js';

export interface Stats {
  requests: number;
  merged: number;
  syncs_ok: number;
  syncs_failed: number;
  rejected: number;
  deferred: number;
  noops: number;
  /** Syncs that did not start because the user's git was busy (their rebase, a detached HEAD): not failures. */
  refused: number;
  last_success_at: string | null;
  last_error: string | null;
}

export interface BreakerState {
  state: 'closed' | 'open' | 'half-open';
  failures: number;
  opened_at: string | null;
  open_until: string | null;
  last_error: string | null;
}

export interface ActiveOp {
  op: string;
  type: SyncType;
  step: string;
  started_at: string;
  pid: number;
  start_time: string | null;
  branch: string | null;
  /** Set before the coordinator starts a rebase/merge: what crash recovery restores to. */
  backup_ref: string | null;
  /**
   * Legacy (before integration moved off the work tree): a rebase/merge of ours was in
   * progress. Still read, so a marker an older version left is handled.
   */
  integrating: 'rebase' | 'merge' | null;
  /** The sync is moving the branch, index and files (move.ts): what recovery needs. */
  moving?: MovingMarker | null;
  request_ids: string[];
}

export interface MovingMarker {
  /** The commit the user's index was relative to before the move. */
  base: string | null;
  /** The commit the branch moves to. */
  to: string;
  /** The commit whose content the work tree held when the move began (files move from it to `to`). */
  worktree?: string | null;
  /** Digest of the user's index before the move (recovery: unchanged = not yet replaced). */
  index_digest: string;
}

export interface PauseState {
  reason: string;
  since: string;
  paths: string[];
  op: string | null;
}

export interface CoordinatorState {
  version: 1;
  rate_limit: { window_start: string | null; used: number };
  stats: Stats;
  breakers: Record<string, BreakerState>;
  active: ActiveOp | null;
  /** Automatic syncs paused after a conflict left for manual resolution. */
  paused: PauseState | null;
  last_op: { op: string; type: SyncType; result: string; finished_at: string; message: string } | null;
  /**
   * Ids of the last finished batch. Its spool files are deleted just after this state is
   * written; if a kill lands in between, the next processor drops them instead of
   * serving and counting them twice.
   */
  last_served: string[];
  /** When backup refs were last pruned (they are pruned on integration and daily). */
  backups_pruned_at: string | null;
  /** The last failed sync's signature; cleared by a success (failure-record.ts). */
  last_failure?: FailureRecord | null;
  /** The last time another device rewrote the remote branch (force push) and the sync followed it. */
  remote_rewrite?: { at: string; op: string; old: string; new: string; backup_ref: string } | null;
  /** The last time the remote tracked paths under the state directory (untracked by the sync). */
  untracked_state?: { at: string; op: string; paths: string[]; count: number } | null;
  /**
   * Paths the commit step left out of the last sync (invariant 16), each warned about
   * once: from the sync that first excluded it until one that stages it again.
   */
  excluded: ExcludedPath[];
}

export interface ExcludedPath {
  path: string;
  reason: 'ignored' | 'embedded-repo' | 'submodule-unpushed' | 'too-large';
  detail: string;
  since: string;
}

export function emptyState(): CoordinatorState {
  return {
    version: 1,
    rate_limit: { window_start: null, used: 0 },
    stats: { requests: 0, merged: 0, syncs_ok: 0, syncs_failed: 0, rejected: 0, deferred: 0, noops: 0, refused: 0, last_success_at: null, last_error: null },
    breakers: {},
    active: null,
    paused: null,
    last_op: null,
    last_served: [],
    backups_pruned_at: null,
    excluded: [],
  };
}

/** The state file's text, or null when there is none yet. */
async function readStateText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** For readers (status, request-sync): a corrupt file reads as a fresh state, untouched. */
export async function readState(file: string, logger: Logger | null): Promise<CoordinatorState> {
  const text = await readStateText(file);
  if (text === null) return emptyState();
  const parsed = parseState(text);
  if (parsed) return parsed;
  // Only the lock holder may move it aside; readers just use defaults.
  logger?.warn({ file }, 'coordinator-state.json is corrupt; using a fresh state');
  return emptyState();
}

/** For the lock holder: a corrupt file is moved aside (and logged) before it is rebuilt. */
export async function readStateForUpdate(file: string, logger: Logger): Promise<CoordinatorState> {
  const text = await readStateText(file);
  if (text === null) return emptyState();
  const parsed = parseState(text);
  if (parsed) return parsed;
  const moved = await quarantine(file);
  logger.warn({ file, moved_to: moved }, 'corrupt coordinator-state.json moved aside; starting from a fresh state');
  return emptyState();
}

function parseState(text: string): CoordinatorState | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object' || (raw as { version?: unknown }).version !== 1) return null;
  const base = emptyState();
  const r = raw as Partial<CoordinatorState>;
  if (!r.rate_limit || typeof r.rate_limit.used !== 'number' || !r.stats || typeof r.stats.requests !== 'number') return null;
  return {
    ...base,
    ...r,
    rate_limit: { ...base.rate_limit, ...r.rate_limit },
    stats: { ...base.stats, ...r.stats },
    breakers: r.breakers && typeof r.breakers === 'object' ? r.breakers : {},
    last_served: Array.isArray(r.last_served) ? r.last_served.filter((x) => typeof x === 'string') : [],
    excluded: Array.isArray(r.excluded) ? r.excluded.filter((x) => x && typeof x.path === 'string' && typeof x.reason === 'string') : [],
  } as CoordinatorState;
}

/** `durable: false` for informational updates (the current step): atomic, not fsynced. */
export async function writeState(file: string, state: CoordinatorState, durable = true): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(state, null, 2) + '\n', { fsync: durable, fsyncDir: durable });
}

/**
 * Read-modify-write helper for the lock holder. Keeps one in-memory copy per process so
 * that a sync writes its step changes without re-reading.
 */
export interface StateStore {
  get(): CoordinatorState;
  update(mutate: (s: CoordinatorState) => void, opts?: { durable?: boolean }): Promise<CoordinatorState>;
}

export async function openStateStore(file: string, logger: Logger): Promise<StateStore> {
  let current = await readStateForUpdate(file, logger);
  let chain: Promise<unknown> = Promise.resolve();
  return {
    get: () => current,
    update(mutate, opts = {}) {
      const next = chain.then(async () => {
        const copy = structuredClone(current);
        mutate(copy);
        await writeState(file, copy, opts.durable !== false);
        current = copy;
        return copy;
      });
      chain = next.catch(() => {});
      return next;
    },
  };
}
