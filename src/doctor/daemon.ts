/** Daemon: running, not running, or a stale pid file left by a daemon that died. */
import { readDaemonInfo, type DaemonInfo } from '../daemon/pidfile.js';
import { ok, warn, type CheckResult } from './types.js';

const NAME = 'daemon';
const FIX = 'sync-coordinator daemon start  (at login: sync-coordinator daemon install-service)';

export function judgeDaemon(info: DaemonInfo): CheckResult {
  if (info.running) return ok(NAME, `running (pid ${info.pid}${info.since ? `, since ${info.since}` : ''})`);
  if (info.stalePidFile) {
    return warn(NAME, 'not running: daemon.pid names a process that is gone (the daemon died or the machine rebooted); see "sync-coordinator daemon logs"', FIX);
  }
  return warn(NAME, 'not running: file changes are not synced automatically and the queue is processed only by CLI calls', FIX);
}

export async function checkDaemon(pidFile: string): Promise<CheckResult> {
  return judgeDaemon(await readDaemonInfo(pidFile));
}
