/**
 * daemon-state.json: what the running daemon is doing, for `status` and `doctor`.
 * Written only by the daemon (single instance), atomically; read by anyone. It outlives
 * the daemon (with `stopped_at` set), so readers decide "running" from daemon.pid
 * (readDaemonInfo), not from this file.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../shared/atomic-file.js';
import type { WatcherState } from './watcher-state.js';

export interface HealthView {
  at: string;
  ok: boolean;
  problems: string[];
  disk: { free_bytes: number | null; min_free_bytes: number; ok: boolean; error: string | null };
  git: { ok: boolean; check: 'fsck' | 'rev-parse' | 'skipped'; ms: number; error: string | null };
  lock: { held: boolean; stale: boolean; owner_pid: number | null; owner_caller: string | null };
}

export interface StuckRecord {
  op: string;
  type: string;
  step: string;
  started_at: string;
  aborted_at: string;
}

export interface DaemonState {
  version: 1;
  pid: number;
  started_at: string;
  updated_at: string;
  stopped_at: string | null;
  /**
   * The watcher's own state; mode 'unknown' when reading it failed (error says why).
   * null when watch.enabled is false (or the watcher could not be loaded: see watcher_error).
   */
  watcher: (Omit<WatcherState, 'mode'> & { mode: WatcherState['mode'] | 'unknown' }) | null;
  watcher_error: string | null;
  last_cycle_at: string | null;
  last_process: { at: string; batches: number; results: string[]; busy: boolean } | null;
  last_health: HealthView | null;
  last_stuck: StuckRecord | null;
  /** Why syncs are paused (low disk space), or null. */
  paused_reason: string | null;
  /** daemon.log could not be written (the daemon logs to coordinator.log instead). */
  log_error: string | null;
  /** config.json changed to something invalid; the daemon runs on its previous config. */
  config_error: string | null;
}

export async function writeDaemonState(file: string, state: DaemonState): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(state, null, 2) + '\n', { mode: 0o644, fsyncDir: false });
}

/** The last state the daemon wrote; null when absent or unreadable (never throws). */
export async function readDaemonState(file: string): Promise<DaemonState | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return null;
  }
  if (!raw || typeof raw !== 'object') return null;
  const r = raw as Partial<DaemonState>;
  if (r.version !== 1 || typeof r.pid !== 'number' || typeof r.started_at !== 'string') return null;
  return {
    version: 1,
    pid: r.pid,
    started_at: r.started_at,
    updated_at: typeof r.updated_at === 'string' ? r.updated_at : r.started_at,
    stopped_at: typeof r.stopped_at === 'string' ? r.stopped_at : null,
    watcher: r.watcher && typeof r.watcher === 'object' ? r.watcher : null,
    watcher_error: typeof r.watcher_error === 'string' ? r.watcher_error : null,
    last_cycle_at: typeof r.last_cycle_at === 'string' ? r.last_cycle_at : null,
    last_process: r.last_process && typeof r.last_process === 'object' ? r.last_process : null,
    last_health: r.last_health && typeof r.last_health === 'object' ? r.last_health : null,
    last_stuck: r.last_stuck && typeof r.last_stuck === 'object' ? r.last_stuck : null,
    paused_reason: typeof r.paused_reason === 'string' ? r.paused_reason : null,
    log_error: typeof r.log_error === 'string' ? r.log_error : null,
    config_error: typeof r.config_error === 'string' ? r.config_error : null,
  };
}

export function daemonStatePath(stateDir: string): string {
  return join(stateDir, 'daemon-state.json');
}
