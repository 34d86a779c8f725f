/**
 * Hands off the user's git (invariant 5): refuse while an operation the coordinator did
 * not start is in progress, on a detached HEAD, or with unmerged paths. Read-only.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { RepoBusyError, SyncFailedError } from '../core/errors.js';
import type { Git } from './git.js';

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

export interface Preflight {
  branch: string;
  remote: string;
  remoteUrl: string | null;
}

export async function preflight(git: Git, remote: string, configuredBranch: string | null): Promise<Preflight> {
  const ops = await operationsInProgress(git);
  if (ops.length > 0) {
    throw new RepoBusyError(`${ops.map((o) => o.what).join(', ')} is in progress in this repository; finish or abort it (e.g. "git rebase --abort"), then sync again`);
  }
  const branch = await currentBranch(git);
  if (!branch) throw new RepoBusyError('HEAD is detached; check out a branch ("git switch <branch>") before syncing');
  if (configuredBranch && configuredBranch !== branch) {
    throw new RepoBusyError(`the work tree is on branch "${branch}" but config "branch" is "${configuredBranch}"; switch branches or change the config`);
  }
  const unmerged = await unmergedPaths(git);
  if (unmerged.length > 0) throw new RepoBusyError(`${unmerged.length} path(s) are unmerged; resolve them ("git status") before syncing`);
  const url = await git.run(['config', '--get', `remote.${remote}.url`], { readOnly: true, okCodes: [1] });
  const remoteUrl = url.code === 0 ? url.stdout.trim() : null;
  if (!remoteUrl) throw new SyncFailedError(`remote "${remote}" is not configured; add it ("git remote add ${remote} <url>") or set "remote" in config.json`, { code: 'ENOREMOTE' });
  return { branch, remote, remoteUrl };
}
