/**
 * Moving the user's branch, index and files to the commit the sync built: once, at the
 * end, under git's own `index.lock` (so no `git commit`, `switch`, `merge` or `add` of the
 * user runs in between), in this order:
 *
 * 1. HEAD must still name the sync's branch, with no operation of the user in progress.
 * 2. A new index is built beside the user's: the paths the sync committed take the
 *    commit's entries, everything else the user staged is kept (invariant 4, 13).
 * 3. Files move with a two-way `read-tree -m -u <what the work tree holds> <target>` on
 *    that index: git refuses, writing nothing, if a file changed since the sync read it,
 *    so a save made meanwhile is never overwritten. The sync then starts over and
 *    commits the save.
 * 4. The branch moves with a compare-and-swap from the oid the sync read.
 * 5. The new index replaces the user's (rename) and the lock is released.
 *
 * A kill after 3 leaves remote changes as uncommitted files on the old branch tip: the
 * next sync commits them and its three-way merge finds them already on the remote, so
 * nothing is lost or reverted. A kill after 4 leaves the user's index behind the branch:
 * the recovery marker set here lets the next run bring it up to date (recovery.ts).
 */
import { RepoBusyError, SyncFailedError } from '../shared/errors.js';
import type { Git } from './git.js';
import { GitError } from './git-error.js';
import {
  indexHasUnmerged,
  lockUserIndex,
  privateIndexPath,
  readUserIndex,
  removeQuiet,
  writePrivateIndex,
  type IndexSnapshot,
  type UserIndexLock,
} from './index-file.js';
import type { LocalCommit } from './local-commit.js';
import { assertNoOperationInProgress, headBranchFromFile } from './preflight.js';
import { GitLockedError } from '../shared/errors.js';
import { existsNoFollow } from '../shared/exists-no-follow.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface MoveInput {
  git: Git;
  gitDir: string;
  opId: string;
  branch: string;
  /** The branch's oid as the sync read it (null: unborn branch). */
  from: string | null;
  to: string;
  /** The commit whose content the work tree holds (the sync's own commit, or `from`). */
  worktree: string | null;
  committed: LocalCommit | null;
  /** The user's index as the sync read it. */
  userIndex: IndexSnapshot;
  /** Paths the user had staged when the sync read the work tree. */
  staged: string[];
  reason: string;
  /** Set once the branch has moved (from then on a failure leaves the index behind it). */
  progress?: { branchMoved: boolean };
  /** An earlier attempt of this move was cut short (its git killed): it may have written files already. */
  retry?: boolean;
}

/**
 * The work tree changed under the sync (a save): nothing was written. Not retried as is
 * (the same move would be refused again): the pipeline starts a new round that commits
 * the save first.
 */
export class WorktreeChangedError extends SyncFailedError {
  constructor(
    readonly paths: string[],
    cause?: unknown,
  ) {
    super(
      `${paths.length ? paths.slice(0, 5).join(', ') + (paths.length > 5 ? ', ...' : '') : 'a file'} changed in the work tree while the sync ran; nothing was overwritten; the next sync commits the change`,
      { code: 'EWORKTREE', retryable: false, cause },
    );
  }
}

const ZERO = '0'.repeat(40);
const LOCK_WAIT_MS = 1000;

export async function moveToTarget(m: MoveInput): Promise<void> {
  const lock = await lockWithPatience(m.gitDir);
  const newIndex = privateIndexPath(m.gitDir, m.opId, 'move');
  try {
    if (headBranchFromFile(m.gitDir) !== m.branch) {
      throw new RepoBusyError(
        `the work tree left branch "${m.branch}" during the sync (HEAD was switched); nothing of yours was changed; the sync's commit is dropped and the next sync on "${m.branch}" starts over`,
      );
    }
    assertNoOperationInProgress(m.gitDir);
    const env = { GIT_INDEX_FILE: newIndex };
    const current = await readUserIndex(m.gitDir);
    // Under the lock nobody can change the index any more: the last word on a conflict
    // that appeared after preflight (a conflicted stash pop has no MERGE_HEAD).
    const unmerged = indexHasUnmerged(current.bytes) ?? (await m.git.run(['ls-files', '-u', '-z'], { readOnly: true })).stdout.length > 0;
    if (unmerged)
      throw new RepoBusyError(
        'paths became unmerged while the sync ran (a conflicted merge or stash pop); nothing of yours was changed; resolve them ("git status"), then sync again',
      );
    const committedPaths = new Set(m.committed?.paths ?? []);
    let fresh = false;
    // (Once renamed, that file is gone: a retry of the move takes the general path.)
    if (m.committed && existsSync(m.committed.indexFile) && current.digest === m.userIndex.digest && m.staged.every((p) => committedPaths.has(p))) {
      // The private index the commit was made from is the user's index plus exactly the
      // committed paths, with fresh stat data: it is the new index as it stands.
      await removeQuiet(newIndex);
      const { rename } = await import('node:fs/promises');
      await rename(m.committed.indexFile, newIndex);
      fresh = true;
    } else {
      await writePrivateIndex(newIndex, current);
      if (m.committed && m.committed.paths.length > 0) {
        await m.git.run(['reset', '-q', m.committed.commit, '--pathspec-from-file=-', '--pathspec-file-nul'], {
          env,
          literalPaths: true,
          input: m.committed.paths.map((p) => `${p}\0`).join(''),
          okCodes: [1],
        });
      }
    }
    const filesMove = m.worktree !== m.to;
    if (filesMove) {
      // Files an earlier attempt already wrote hold the target's content: they are the
      // target's, not a save of the user (which read-tree would refuse to overwrite).
      if (m.retry && m.worktree) await adoptWritten(m.git, env, m.worktree, m.to, 'written');
      if (!fresh || m.retry) await m.git.run(['update-index', '-q', '--refresh'], { env, okCodes: [1] });
      const args = m.worktree ? ['read-tree', '-m', '-u', m.worktree, m.to] : ['read-tree', '-m', '-u', m.to];
      const res = await m.git.run(args, { env, okCodes: [128] });
      if (res.code !== 0) throw new WorktreeChangedError(refusedPaths(res.stderr), new GitError(args, res.code, res.stdout, res.stderr, 'exit'));
    }
    const cas = await m.git.run(['update-ref', '-m', `sync-coordinator: ${m.reason}`, `refs/heads/${m.branch}`, m.to, m.from ?? ZERO], { okCodes: [128] });
    // A git killed right after it moved the ref (an earlier attempt of this move) left the
    // branch at our own commit, which nobody else knows: the move only has the index left.
    if (cas.code !== 0 && !(m.retry && (await branchTip(m.git, m.branch)) === m.to)) {
      if (filesMove && m.worktree) await m.git.run(['read-tree', '-m', '-u', m.to, m.worktree], { env, okCodes: [128] }).catch(() => {});
      throw new RepoBusyError(
        `branch "${m.branch}" moved during the sync (a commit of yours or another tool); nothing of yours was changed; the next sync integrates it`,
      );
    }
    if (m.progress) m.progress.branchMoved = true;
    await lock.commit(newIndex);
  } finally {
    await lock.release();
    await removeQuiet(newIndex, `${newIndex}.lock`);
  }
}

async function branchTip(git: Git, branch: string): Promise<string | null> {
  const r = await git.run(['rev-parse', '-q', '--verify', `refs/heads/${branch}^{commit}`], { readOnly: true, okCodes: [1, 128] });
  return r.code === 0 ? r.stdout.trim() : null;
}

async function lockWithPatience(gitDir: string): Promise<UserIndexLock> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      return await lockUserIndex(gitDir);
    } catch (e) {
      if (!(e instanceof GitLockedError) || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Paths git names in a refused two-way read-tree ("Entry 'x' not uptodate", "would be overwritten"). */
export function refusedPaths(stderr: string): string[] {
  const found = new Set<string>();
  for (const m of stderr.matchAll(/Entry '(.+?)' not uptodate/g)) found.add(m[1]!);
  let inList = false;
  for (const line of stderr.split('\n')) {
    if (/would be (overwritten|removed|lost)/.test(line)) {
      inList = true;
      continue;
    }
    if (inList && line.startsWith('\t')) found.add(line.slice(1));
    else inList = false;
  }
  return [...found];
}

/**
 * Paths the move changes (`from` → `to`) whose work-tree content is already `to`'s
 * (`written`), or anything but `from`'s (`all`: also files edited since, which recovery
 * takes as edits made on top of `to`), get `to`'s entry in the index `env` names, so the
 * two-way `read-tree -m -u from to` keeps them and writes only the rest. Returns the paths.
 */
export async function adoptWritten(git: Git, env: Record<string, string>, from: string, to: string, which: 'written' | 'all'): Promise<string[]> {
  const changed = (await git.run(['diff-tree', '-r', '--no-renames', '-z', '--name-only', from, to], { readOnly: true })).stdout.split('\0').filter(Boolean);
  if (changed.length === 0) return [];
  const check = `${env.GIT_INDEX_FILE}-check`;
  const checkEnv = { GIT_INDEX_FILE: check };
  try {
    await removeQuiet(check, `${check}.lock`);
    // What differs from `to` and from `from` in the work tree, by content.
    const differs = async (tree: string) => {
      await git.run(['read-tree', tree], { env: checkEnv });
      await git.run(['update-index', '-q', '--refresh'], { env: checkEnv, okCodes: [1] });
      const out = (await git.run(['diff-files', '--name-only', '-z'], { env: checkEnv, readOnly: true })).stdout;
      return new Set(out.split('\0').filter(Boolean));
    };
    const notTo = await differs(to);
    const notFrom = which === 'all' ? await differs(from) : new Set<string>();
    const entries = (await git.run(['ls-tree', '-r', '-z', '--full-tree', to], { readOnly: true })).stdout.split('\0').filter(Boolean);
    const byPath = new Map(entries.map((e) => [e.slice(e.indexOf('\t') + 1), e.slice(0, e.indexOf('\t')).split(' ')] as const));
    const present = (p: string) => existsNoFollow(join(git.cwd, p));
    // A path `to` deletes counts as written once it is gone from the work tree.
    const isTo = (p: string) => (byPath.has(p) ? !notTo.has(p) && present(p) : !present(p));
    const adopted = changed.filter((p) => isTo(p) || (which === 'all' && notFrom.has(p)));
    if (adopted.length === 0) return [];
    const lines = adopted.flatMap((p) => {
      const e = byPath.get(p);
      return e ? [`0 ${ZERO}\t${p}`, `${e[0]} ${e[2]}\t${p}`] : [`0 ${ZERO}\t${p}`];
    });
    await git.run(['update-index', '-z', '--index-info'], { env, input: lines.map((l) => `${l}\0`).join('') });
    return adopted;
  } finally {
    await removeQuiet(check, `${check}.lock`);
  }
}
