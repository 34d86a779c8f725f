/**
 * Hands off the user's git (invariant 5): refuse while an operation the coordinator did
 * not start is in progress, on a detached HEAD, or with unmerged paths. Read-only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RepoBusyError, SyncFailedError } from '../shared/errors.js';
import type { Git } from './git.js';
import { parseStatusV2Z, type StatusEntry } from './status.js';

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

/**
 * Operations in progress in this work tree, read from the files git keeps for them (no
 * process). All of them live in the per-worktree git dir (none is in git's list of
 * paths shared through the common dir), and every git we run has GIT_DIR unset, so
 * `<gitDir>/<name>` is exactly what `rev-parse --git-path <name>` would print.
 */
export function operationsInProgress(gitDir: string): RepoOperation[] {
  const found: RepoOperation[] = [];
  for (const [name, what] of IN_PROGRESS) {
    const path = join(gitDir, name);
    if (existsSync(path)) found.push({ path, what });
  }
  return found;
}

export interface InProgress {
  rebaseDir: string | null;
  mergeHead: string | null;
}

/** A rebase or merge in progress in this work tree (read like operationsInProgress). */
export function integrationInProgress(gitDir: string): InProgress {
  const at = (name: string) => {
    const path = join(gitDir, name);
    return existsSync(path) ? path : null;
  };
  return { rebaseDir: at('rebase-merge') ?? at('rebase-apply'), mergeHead: at('MERGE_HEAD') };
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
  /** `core.hooksPath` (null: the default `<git dir>/hooks`). */
  hooksPath: string | null;
  /** `commit.gpgSign`: the sync's commits are signed like the user's (`commit-tree` ignores the setting). */
  sign: boolean;
}

/**
 * Everything preflight needs, read at once: the in-progress files, then `status` (whose
 * `--branch` header names HEAD and the branch) beside the remote URL (read-only). A
 * sync's cost is mostly its git processes, so they are few and parallel.
 */
export async function preflight(git: Git, gitDir: string, remote: string, configuredBranch: string | null): Promise<Preflight> {
  assertNoOperationInProgress(gitDir);
  const [statusOut, url] = await Promise.all([
    git.run(['status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all'], { readOnly: true }),
    git.run(['config', '-z', '--get-regexp', `^(remote\\.${remote.replace(/[.]/g, '\\.')}\\.url|core\\.hookspath|commit\\.gpgsign)$`], {
      readOnly: true,
      okCodes: [1],
    }),
  ]);
  // Looked at again after status: an operation started meanwhile would make status stale.
  assertNoOperationInProgress(gitDir);
  const { head, branch, entries: status } = parseStatusV2Z(statusOut.stdout);
  if (!branch) throw new RepoBusyError('HEAD is detached; check out a branch ("git switch <branch>") before syncing');
  if (configuredBranch && configuredBranch !== branch) {
    throw new RepoBusyError(`the work tree is on branch "${branch}" but config "branch" is "${configuredBranch}"; switch branches or change the config`);
  }
  const unmerged = status.filter((e) => UNMERGED_XY.has(e.x + e.y));
  if (unmerged.length > 0) throw new RepoBusyError(`${unmerged.length} path(s) are unmerged; resolve them ("git status") before syncing`);
  const settings = parseConfigZ(url.stdout);
  const remoteUrl = settings.get(`remote.${remote}.url`.toLowerCase()) ?? null;
  if (!remoteUrl)
    throw new SyncFailedError(`remote "${remote}" is not configured; add it ("git remote add ${remote} <url>") or set "remote" in config.json`, {
      code: 'ENOREMOTE',
    });
  return { branch, remote, remoteUrl, head, status, hooksPath: settings.get('core.hookspath') ?? null, sign: gitBool(settings.get('commit.gpgsign')) };
}

/** git's boolean spellings (a bare key, as `git config -z` prints it, is true). */
function gitBool(v: string | undefined): boolean {
  return v !== undefined && ['', 'true', 'yes', 'on', '1'].includes(v.trim().toLowerCase());
}

/** `git config -z --get-regexp` output: `key\nvalue\0` records, keys lower-cased by git (pure). */
export function parseConfigZ(out: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const rec of out.split('\0')) {
    if (!rec) continue;
    const nl = rec.indexOf('\n');
    const key = (nl < 0 ? rec : rec.slice(0, nl)).toLowerCase();
    if (!found.has(key)) found.set(key, nl < 0 ? '' : rec.slice(nl + 1));
  }
  return found;
}

/** Invariant 5: a rebase, merge, ... that the coordinator did not start means hands off. */
export function assertNoOperationInProgress(gitDir: string): void {
  const ops = operationsInProgress(gitDir);
  if (ops.length > 0) {
    throw new RepoBusyError(
      `${ops.map((o) => o.what).join(', ')} is in progress in this repository; finish or abort it (e.g. "git rebase --abort"), then sync again`,
    );
  }
}
