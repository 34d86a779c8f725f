/**
 * Daemon: running, not running, or a stale pid file left by a daemon that died. When it
 * runs, what it last wrote to daemon-state.json (only trusted when written by the daemon
 * that runs now): config.json changed to something invalid, the watcher fell back from
 * native watching, syncs paused for low disk space, a failed health check, or no cycle
 * for a long time (hung).
 */
import { readDaemonInfo, type DaemonInfo } from '../core/pidfile.js';
import { daemonStatePath, readDaemonState, type DaemonState } from '../core/daemon-state.js';
import { SYSCTL_FIX } from './inotify.js';
import { ok, warn, type CheckResult } from './types.js';

const NAME = 'daemon';
const FIX = 'sync-coordinator daemon start  (at login: sync-coordinator daemon install-service)';

export function judgeDaemon(info: DaemonInfo, state: DaemonState | null, processIntervalS: number, now = Date.now()): CheckResult {
  if (!info.running) {
    if (info.stalePidFile) {
      return warn(
        NAME,
        'not running: daemon.pid names a process that is gone (the daemon died or the machine rebooted); see "sync-coordinator daemon logs"',
        FIX,
      );
    }
    return warn(NAME, 'not running: file changes are not synced automatically and the queue is processed only by CLI calls', FIX);
  }
  const running = `running (pid ${info.pid}${info.since ? `, since ${info.since}` : ''})`;
  const live = state && state.pid === info.pid && !state.stopped_at ? state : null;
  if (!live) return ok(NAME, running);
  if (live.config_error) {
    return warn(
      NAME,
      `${running}, on its previous configuration: config.json changed and is not valid (${live.config_error})`,
      'fix config.json; the daemon picks it up within process_interval_s',
    );
  }
  if (live.paused_reason) return warn(NAME, `${running}, but syncs are paused: ${live.paused_reason}`, 'free some disk space; syncs resume by themselves');
  if (live.watcher_error && !live.watcher)
    return warn(NAME, `${running}, but its watcher is off: ${live.watcher_error}`, 'sync-coordinator daemon logs  (then daemon stop / daemon start)');
  if (live.watcher && live.watcher.mode !== 'native') {
    return warn(
      NAME,
      `${running}, but its watcher fell back to ${live.watcher.mode === 'git-status' ? 'checking git status' : 'polling'}${live.watcher.error ? ` (${live.watcher.error})` : ''}: changes are noticed later`,
      `${SYSCTL_FIX}  (then sync-coordinator daemon stop && sync-coordinator daemon start)`,
    );
  }
  if (live.last_health && !live.last_health.ok) {
    return warn(
      NAME,
      `${running}; its last health check (${live.last_health.at}) found: ${live.last_health.problems.join('; ')}`,
      'sync-coordinator daemon logs',
    );
  }
  const lastCycle = live.last_cycle_at ? Date.parse(live.last_cycle_at) : NaN;
  const hungAfterMs = Math.max(5 * 60_000, 5 * processIntervalS * 1000);
  if (!Number.isNaN(lastCycle) && now - lastCycle > hungAfterMs) {
    return warn(
      NAME,
      `${running}, but its last cycle was at ${live.last_cycle_at}; it may be hung`,
      `sync-coordinator daemon stop && sync-coordinator daemon start  (kill -9 ${info.pid} if stop times out)`,
    );
  }
  return ok(NAME, `${running}${live.watcher ? `, watcher ${live.watcher.mode}` : ', watcher off (watch.enabled is false)'}`);
}

export async function checkDaemon(pidFile: string, stateDir: string, processIntervalS: number): Promise<CheckResult> {
  const info = await readDaemonInfo(pidFile);
  const state = info.running ? await readDaemonState(daemonStatePath(stateDir)) : null;
  return judgeDaemon(info, state, processIntervalS);
}
