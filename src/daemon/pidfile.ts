/**
 * daemon.pid: line 1 pid, line 2 process start time (/proc stat field 22), line 3 the
 * ISO time it started. Plain lines so the sh hooks can read it with `read`. A pid file
 * whose process is gone or whose pid was reused does not count as a running daemon.
 */
import { promises as fs } from 'node:fs';
import { liveness, selfIdentity } from '../core/process-identity.js';

export interface DaemonInfo {
  running: boolean;
  pid: number | null;
  since: string | null;
  stalePidFile: boolean;
}

export async function readDaemonInfo(file: string): Promise<DaemonInfo> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return { running: false, pid: null, since: null, stalePidFile: false };
  }
  const [pidLine = '', startTime = '', since = ''] = text.split('\n');
  const pid = Number(pidLine.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { running: false, pid: null, since: null, stalePidFile: true };
  const alive = liveness({ pid, start_time: startTime.trim() || null });
  if (alive === 'dead') return { running: false, pid: null, since: null, stalePidFile: true };
  return { running: true, pid, since: since.trim() || null, stalePidFile: false };
}

export function pidFileContent(): string {
  const me = selfIdentity();
  return `${me.pid}\n${me.start_time ?? ''}\n${new Date().toISOString()}\n`;
}
