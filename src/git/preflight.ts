/**
 * Hands off the user's git (invariant 5): refuse while an operation the coordinator did
 * not start is in progress, on a detached HEAD, or with unmerged paths. Read-only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { RepoBusyError, SyncFailedError } from '../core/errors.js';
import type { Git } from './git.js';
import { parseStatusZ, type StatusEntry } from './status.js';

const IN_PROGRESS: Array<[string, string]> = [
  ['rebase-merge', 'a rebase'],
  ['rebase-apply', 'a rebase or git am'],
  ['MERGE_HEAD', 'a merge'],
  ['CHERRY_PICK_HEAD', 'a cherry-pick'],
  ['REVERT_HEAD', 'a revert'],
  ['BISECT_LOG', 'a bisect'],
  ['sequencer', 'a cherry-pick/revert sequence'],
];

export interface RepoOperation {
  path: string;
  what: string;
}

/** Operations in progress in this work tree (paths via `rev-parse --git-path`, worktree-aware). */
export async function operationsInProgress(git: Git): Promise<RepoOperation[]> {
  const res = await git.run(['rev-parse', ...IN_PROGRESS.flatMap(([name]) => ['--git-path', name])], { readOnly: true });
  const paths = res.stdout.split('\n').filter(Boolean);
  const found: RepoOperation[] = [];
  paths.forEach((p, i) => {
    const abs = isAbsolute(p) ? p : join(git.cwd, p);
    const entry = IN_PROGRESS[i];
    if (entry && existsSync(abs)) found.push({ path: abs, what: entry[1] });
  });
  return found;
}

/** The branch HEAD points at, or null when detached. */
export async function currentBranch(git: Git): Promise<string | null> {
  const res = await git.run(['symbolic-ref', '-q', 'HEAD'], { readOnly: true, okCodes: [1] });
  const ref = res.stdout.trim();
  return res.code === 0 && ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
}

export async function unmergedPaths(git: Git): Promise<string[]> {
  const res = await git.run(['ls-files', '-u', '-z'], { readOnly: true });
  const paths = new Set<string>();
  for (const rec of res.stdout.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab >= 0) paths.add(rec.slice(tab + 1));
  }
  return [...paths];
}

/** Branch HEAD points at, read from the HEAD file (no process); null when detached or unreadable. */
export function headBranchFromFile(gitDir: string): string | null {
  try {
    const text = readFileSync(join(gitDir, 'HEAD'), 'utf8').trim();
    return text.startsWith('ref: refs/heads/') ? text.slice('ref: refs/heads/'.length) : null;
  } catch {
    return null;
  }
}

/** `git status` XY codes of unmerged entries (git-status(1), "Short Format"). */
const UNMERGED_XY = new Set(['DD', 'AU', 'UD', 'UA', 'DU', 'AA', 'UU']);

export interface Preflight {
  branch: string;
  remote: string;
  remoteUrl: string | null;
  /** HEAD before the sync touches anything (null: unborn branch). */
  head: string | null;
  /** `git status` of the work tree at preflight: what the commit step commits. */
  status: StatusEntry[];
}

/**
 * Everything preflight needs, read at once: one `rev-parse` answers the in-progress
 * paths, HEAD and the branch; `status` and the remote URL run beside it (all read-only).
 * A sync's cost is mostly its git processes, so they are few and parallel.
 */
export async function preflight(git: Git, remote: string, configuredBranch: string | null): Promise<Preflight> {
  const names = IN_PROGRESS.map(([name]) => name);
  const [probe, statusOut, url] = await Promise.all([
    git.run(['rev-parse', ...names.flatMap((n) => ['--git-path', n]), 'HEAD', '--symbolic-full-name', 'HEAD'], { readOnly: true, okCodes: [128] }),
    git.run(['status', '--porcelain=v1', '-z', '--untracked-files=all'], { readOnly: true }),
    git.run(['config', '--get', `remote.${remote}.url`], { readOnly: true, okCodes: [1] }),
  ]);
  const lines = probe.stdout.split('\n');
  const ops: RepoOperation[] = [];
  names.forEach((_, i) => {
    const p = lines[i];
    const entry = IN_PROGRESS[i];
    if (!p || !entry) return;
    const abs = isAbsolute(p) ? p : join(git.cwd, p);
    if (existsSync(abs)) ops.push({ path: abs, what: entry[1] });
  });
  if (ops.length > 0) {
    throw new RepoBusyError(`${ops.map((o) => o.what).join(', ')} is in progress in this repository; finish or abort it (e.g. "git rebase --abort"), then sync again`);
  }
  let head: string | null = null;
  let branch: string | null;
  if (probe.code === 0) {
    head = lines[names.length]?.trim() || null;
    const sym = lines[names.length + 1]?.trim() ?? '';
    branch = sym.startsWith('refs/heads/') ? sym.slice('refs/heads/'.length) : null;
  } else {
    // Unborn branch (no commit yet): rev-parse cannot name HEAD; ask symbolic-ref.
    branch = await currentBranch(git);
  }
  if (!branch) throw new RepoBusyError('HEAD is detached; check out a branch ("git switch <branch>") before syncing');
  if (configuredBranch && configuredBranch !== branch) {
    throw new RepoBusyError(`the work tree is on branch "${branch}" but config "branch" is "${configuredBranch}"; switch branches or change the config`);
  }
  const status = parseStatusZ(statusOut.stdout);
  const unmerged = status.filter((e) => UNMERGED_XY.has(e.x + e.y));
  if (unmerged.length > 0) throw new RepoBusyError(`${unmerged.length} path(s) are unmerged; resolve them ("git status") before syncing`);
  const remoteUrl = url.code === 0 ? url.stdout.trim() : null;
  if (!remoteUrl) throw new SyncFailedError(`remote "${remote}" is not configured; add it ("git remote add ${remote} <url>") or set "remote" in config.json`, { code: 'ENOREMOTE' });
  return { branch, remote, remoteUrl, head, status };
}
