/**
 * What the daemon does with a health check (health.ts runs the checks): record it,
 * pause syncs below the free-space floor and resume them when space returns, take a
 * dead owner's lock over at the next cycle, and log what is wrong.
 */
import type { Config } from '../shared/config.js';
import type { Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';
import type { DaemonState } from '../core/daemon-state.js';
import { checkDisk, type HealthDeps, lowDiskMessage, runHealthCheck } from './health.js';

export interface DaemonHealth {
  /** The periodic check (every health_interval_s). */
  run(): Promise<void>;
  /** While paused: only the disk again (each process interval), to resume soon. */
  recheckDisk(): Promise<void>;
}

export function createDaemonHealth(o: {
  ws: Workspace;
  config: Config;
  deps?: HealthDeps;
  log: Logger;
  state: Pick<DaemonState, 'last_health' | 'paused_reason'>;
  /** The lock's owner is dead: process at the next cycle to take it over. */
  forceProcess: () => void;
  /** Syncs resumed: wake the loop. */
  poke: () => void;
}): DaemonHealth {
  const { ws, log, state } = o;
  function setDiskPause(disk: { ok: boolean; free_bytes: number | null; min_free_bytes: number }): void {
    if (!disk.ok) {
      const reason = lowDiskMessage({ ...disk, error: null });
      if (!state.paused_reason) log.warn({ free_mb: mb(disk.free_bytes), min_mb: mb(disk.min_free_bytes) }, reason);
      state.paused_reason = reason;
    } else if (state.paused_reason) {
      log.info({ free_mb: mb(disk.free_bytes) }, 'disk space recovered; syncs resume');
      state.paused_reason = null;
      o.poke();
    }
  }
  return {
    async run() {
      const h = await runHealthCheck(ws, o.config, o.deps);
      state.last_health = h;
      setDiskPause(h.disk);
      if (h.lock.stale) {
        log.warn({ owner_pid: h.lock.owner_pid, owner_caller: h.lock.owner_caller }, 'the lock is held by a dead owner; taking it over to recover');
        o.forceProcess();
      }
      if (!h.git.ok) log.error({ check: h.git.check, err: h.git.error }, 'git integrity check failed; run "git fsck" and see "sync-coordinator doctor"');
      if (h.ok) log.debug({ disk_free_mb: mb(h.disk.free_bytes), git: h.git.check, git_ms: h.git.ms }, 'health check ok');
      else log.warn({ problems: h.problems }, 'health check found problems');
    },
    async recheckDisk() {
      if (state.paused_reason) setDiskPause(await checkDisk(ws.root, o.deps));
    },
  };
}

function mb(bytes: number | null): number | null {
  return bytes === null ? null : Math.floor(bytes / (1024 * 1024));
}
