/**
 * Git's own lock files (`index.lock`, `HEAD.lock`, ref locks) that a killed git left
 * behind: every later git that needs them fails with "another git process seems to be
 * running". Found and removed only while no live git works in the repository, so a lock
 * held by a live git is never touched (invariant 9). Used after a lock takeover, after a
 * git step killed by a signal, by recovery and by `doctor`.
 */
import { type Dirent, promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../shared/log.js';
import { liveGitInRepo } from '../shared/proc-scan.js';

/** The work tree and git dirs of the repository whose lock files are meant. */
export interface RepoDirs {
  root: string;
  gitDir: string;
  commonDir: string;
}

/**
 * After a takeover, git lock files that the dead owner's killed git left behind would
 * block every later sync. Remove them only when no live git process works in this
 * repository (a lock held by a live git is never removed).
 */
export async function removeDeadGitLocks(repo: RepoDirs, logger: Logger): Promise<string[]> {
  const candidates = await leftoverGitLocks(repo);
  const removed: string[] = [];
  for (const file of candidates) {
    try {
      await fs.rm(file);
      removed.push(file);
    } catch {
      /* absent */
    }
  }
  if (removed.length) logger.warn({ removed }, 'removed git lock files left by a killed sync');
  return removed;
}

/** Git lock files present while no live git works in the repository: left by a killed git. */
export async function leftoverGitLocks(repo: RepoDirs): Promise<string[]> {
  if (liveGitInRepo(repo.root, repo.gitDir)) return [];
  const candidates = [
    join(repo.gitDir, 'index.lock'),
    join(repo.gitDir, 'HEAD.lock'),
    join(repo.gitDir, 'ORIG_HEAD.lock'),
    join(repo.commonDir, 'packed-refs.lock'),
    join(repo.commonDir, 'config.lock'),
  ];
  candidates.push(...(await findLockFiles(join(repo.commonDir, 'refs'))));
  const present = await Promise.all(
    candidates.map((f) =>
      fs.lstat(f).then(
        () => f,
        () => null,
      ),
    ),
  );
  return present.filter((f): f is string => f !== null);
}

async function findLockFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findLockFiles(p)));
    else if (e.name.endsWith('.lock')) out.push(p);
  }
  return out;
}
