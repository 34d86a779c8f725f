/**
 * User daemon: is this work tree registered, does the user daemon run, does it serve
 * this work tree now (or is its unit failed, and why), and may clients trust its
 * control socket. A workspace that is not registered is fine: a per-workspace daemon
 * or the CLI alone serves it.
 */
import { promises as fs } from 'node:fs';
import { readDaemonInfo } from '../core/pidfile.js';
import { readRegistry } from '../shared/registry.js';
import { verifySocket } from '../shared/socket-check.js';
import { userPaths, type UserPaths } from '../shared/user-paths.js';
import { ok, warn, type CheckResult } from './types.js';

const NAME = 'user daemon';

interface UnitView {
  id: string;
  status: string;
  error: string | null;
}

export async function checkUserDaemon(realRoot: string, paths: UserPaths = userPaths()): Promise<CheckResult> {
  const reg = await readRegistry(paths.registry);
  const entry = reg.workspaces.find((w) => w.path === realRoot);
  if (!entry) return ok(NAME, 'this work tree is not registered (sync-coordinator add registers it with the user daemon)');
  const info = await readDaemonInfo(paths.daemonPid);
  if (!info.running) {
    return warn(NAME, `registered (id ${entry.id}), but the user daemon is not running`, 'sync-coordinator daemon start');
  }
  const running = `running (pid ${info.pid})`;
  const socket = verifySocket(paths.runtimeDir, paths.socket);
  if (socket && !socket.ok) {
    return warn(
      NAME,
      `${running}, but clients refuse its control socket: ${socket.reason}`,
      `remove ${paths.runtimeDir} and restart: sync-coordinator daemon stop && sync-coordinator daemon start`,
    );
  }
  const unit = await readUnit(paths.daemonState, entry.id, info.pid);
  if (unit?.status === 'failed') {
    return warn(
      NAME,
      `${running}, but it does not serve this work tree: ${unit.error ?? 'failed'} (it tries again every 30 s)`,
      'sync-coordinator daemon logs --user',
    );
  }
  return ok(NAME, `${running}, ${unit ? `serving this work tree (${unit.status})` : 'registered; not yet served'}${socket ? '' : ', no control socket yet'}`);
}

async function readUnit(file: string, id: string, pid: number | null): Promise<UnitView | null> {
  try {
    const s = JSON.parse(await fs.readFile(file, 'utf8')) as { pid?: number; workspaces?: UnitView[] };
    // Only what the daemon that runs now wrote is trusted.
    if (s.pid !== pid || !Array.isArray(s.workspaces)) return null;
    return s.workspaces.find((w) => w.id === id) ?? null;
  } catch {
    return null;
  }
}
