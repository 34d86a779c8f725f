/**
 * Linux `/proc` scans that tell whether a git is still at work: the lock judges a dead
 * owner's operation over only when no git it started still runs (git runs in its own
 * process group, so SIGKILL of the owner can leave it running), and git lock files are
 * only removed when no git works in the repository. Elsewhere the answers fail safe:
 * no processes found for an op, and "a git may be running" for a repository.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { liveness } from './process-identity.js';

/** Linux: live processes whose environment carries `SYNC_COORDINATOR_OP=<op>` (git children of a sync). */
export function processesOfOp(op: string): number[] {
  if (process.platform !== 'linux') return [];
  const needle = Buffer.from(`\0SYNC_COORDINATOR_OP=${op}\0`);
  const found: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return found;
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue;
    try {
      const env = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`)]);
      if (env.includes(needle) && liveness({ pid: Number(pid) }) === 'alive') found.push(Number(pid));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return found;
}

/** Linux: any process named git whose cwd is inside the work tree or git dir. Elsewhere: assume yes (keep the locks). */
export function liveGitInRepo(root: string, gitDir: string): boolean {
  if (process.platform !== 'linux') return true;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return true;
  }
  for (const pid of pids) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (!comm.startsWith('git')) continue;
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd === root || cwd.startsWith(root + '/') || cwd.startsWith(gitDir)) {
        if (liveness({ pid: Number(pid) }) === 'alive') return true;
      }
    } catch {
      /* process went away or is not ours to read */
    }
  }
  return false;
}
