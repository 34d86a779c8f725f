/**
 * Putting the repository back after an integration the coordinator started went wrong
 * (an error, the `manual` policy, or a crash found by recovery), without ever
 * discarding a change somebody made to the work tree meanwhile (invariant 4).
 *
 * `git rebase --abort` and `git reset --hard` rewrite the work tree. Anything that
 * differs from what git itself last wrote — tracked files that differ from the index
 * (unmerged paths excepted: git wrote those), and untracked files — is an edit made
 * while the integration ran (or while a killed sync lay dead). Before restoring, those
 * files are saved in a commit under `refs/sync-coordinator/backup/<op>-worktree`, and
 * after restoring they are written back, so the next sync commits them. A saved file
 * with conflict-marker lines that are not in the restored version is not written back
 * (that is git's half-finished merge, not an edit); it stays in the snapshot ref, and
 * the log names it.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { SyncFailedError } from '../core/errors.js';
import { statePaths } from '../core/workspace.js';
import type { Logger } from '../log.js';
import { saveBackup } from './backup.js';
import type { Git } from './git.js';
import { markerLines } from './markers.js';
import { currentBranch, unmergedPaths } from './preflight.js';

export interface RepoLocation {
  root: string;
  gitDir: string;
}

export interface InProgress {
  rebaseDir: string | null;
  mergeHead: string | null;
}

/** A rebase or merge in progress in this work tree (paths via `rev-parse --git-path`). */
export async function integrationInProgress(git: Git, root: string): Promise<InProgress> {
  const res = await git.run(['rev-parse', '--git-path', 'rebase-merge', '--git-path', 'rebase-apply', '--git-path', 'MERGE_HEAD'], { readOnly: true });
  const [rm = '', ra = '', mh = ''] = res.stdout.split('\n').map((p) => (p && !isAbsolute(p) ? join(root, p) : p));
  return {
    rebaseDir: rm && existsSync(rm) ? rm : ra && existsSync(ra) ? ra : null,
    mergeHead: mh && existsSync(mh) ? mh : null,
  };
}

/** Our rebase: started from `expectedOrigHead` on `branch` (so a user's own rebase is never ours). */
export function rebaseIsOurs(rebaseDir: string, expectedOrigHead: string, branch: string): boolean {
  try {
    const orig = readFileSync(join(rebaseDir, 'orig-head'), 'utf8').trim();
    const head = readFileSync(join(rebaseDir, 'head-name'), 'utf8').trim();
    return orig === expectedOrigHead && head === `refs/heads/${branch}`;
  } catch {
    return false;
  }
}

export interface StrayEdits {
  /** Commit holding the edited/untracked files, saved under a backup ref; null if none. */
  snapshot: string | null;
  ref: string | null;
  changed: string[];
  deleted: string[];
}

const NONE: StrayEdits = { snapshot: null, ref: null, changed: [], deleted: [] };

function splitZ(out: string): string[] {
  return out.split('\0').filter(Boolean);
}

/** Save every work-tree edit git did not make itself (see the module comment). */
export async function captureStrayEdits(git: Git, loc: RepoLocation, opId: string): Promise<StrayEdits> {
  const diff = splitZ((await git.run(['diff', '--name-status', '--no-renames', '-z'], { readOnly: true })).stdout);
  // Unmerged paths: git wrote them (with markers). `git diff` lists them as "U" and
  // again as a change against stage 2, so exclude them by the index, not by status.
  const unmerged = new Set(await unmergedPaths(git));
  const changedSet = new Set<string>();
  const deleted: string[] = [];
  for (let i = 0; i + 1 < diff.length; i += 2) {
    const status = diff[i]!;
    const path = diff[i + 1]!;
    if (status === 'U' || unmerged.has(path)) continue;
    if (status === 'D') deleted.push(path);
    else changedSet.add(path);
  }
  const untracked = splitZ((await git.run(['ls-files', '-o', '--exclude-standard', '-z'], { readOnly: true })).stdout).filter((p) => !p.endsWith('/'));
  for (const p of untracked) changedSet.add(p);
  const changed = [...changedSet];
  if (changed.length === 0 && deleted.length === 0) return NONE;
  let snapshot: string | null = null;
  let ref: string | null = null;
  if (changed.length > 0) {
    const tmpIndex = join(loc.gitDir, `sync-coordinator-snapshot-${process.pid}.index`);
    const env = { GIT_INDEX_FILE: tmpIndex };
    try {
      await fs.rm(tmpIndex, { force: true });
      await git.run(['update-index', '--add', '-z', '--stdin'], { env, input: changed.map((p) => `${p}\0`).join('') });
      const tree = (await git.run(['write-tree'], { env })).stdout.trim();
      const message = `sync-coordinator: work-tree edits saved before restoring op ${opId}\n\n${changed.length} changed, ${deleted.length} deleted\n`;
      snapshot = (await git.run(['commit-tree', tree, '-F', '-'], { input: message })).stdout.trim();
    } finally {
      await fs.rm(tmpIndex, { force: true });
    }
    ref = await saveBackup(git, `${opId}-worktree`, 'restore (work-tree edits)', snapshot);
  }
  return { snapshot, ref, changed, deleted };
}

/** Write saved edits back onto the restored work tree. Returns paths not written back. */
export async function reapplyStrayEdits(git: Git, loc: RepoLocation, edits: StrayEdits, logger: Logger | null): Promise<string[]> {
  const skipped: string[] = [];
  const wanted = new Set(edits.changed);
  if (edits.snapshot && edits.changed.length > 0) {
    const res = await git.run(['ls-tree', '-r', '-z', '--full-tree', edits.snapshot], { readOnly: true });
    for (const rec of splitZ(res.stdout)) {
      const tab = rec.indexOf('\t');
      const [mode, , sha] = rec.slice(0, tab).split(' ');
      const path = rec.slice(tab + 1);
      if (!mode || !sha || !wanted.has(path)) continue;
      const blob = (await git.run(['cat-file', 'blob', sha], { readOnly: true })).stdoutBytes;
      const abs = join(loc.root, path);
      if (await introducesMarkers(git, path, blob)) {
        skipped.push(path);
        continue;
      }
      try {
        await writeEntry(abs, mode, blob);
      } catch (e) {
        skipped.push(path);
        logger?.warn({ path, err: (e as Error).message }, 'could not write back a saved work-tree edit');
      }
    }
  }
  for (const path of edits.deleted) await fs.rm(join(loc.root, path), { force: true }).catch(() => {});
  if (skipped.length > 0) {
    logger?.warn({ skipped: skipped.slice(0, 20), ref: edits.ref }, 'some saved work-tree files were not written back (they carry conflict markers from the interrupted merge); their content is kept in the snapshot ref');
  }
  return skipped;
}

/** Marker lines in `blob` that the restored (HEAD) version of `path` does not have. */
async function introducesMarkers(git: Git, path: string, blob: Buffer): Promise<boolean> {
  const markers = markerLines(blob.toString('utf8'));
  if (markers.length === 0) return false;
  const res = await git.run(['ls-tree', '-z', '--full-tree', 'HEAD', '--', path], { readOnly: true, literalPaths: true });
  const sha = res.stdout.split('\t')[0]?.split(' ')[2];
  const before = sha ? new Set(markerLines((await git.run(['cat-file', 'blob', sha], { readOnly: true })).stdout)) : new Set<string>();
  return markers.some((l) => !before.has(l));
}

async function writeEntry(abs: string, mode: string, blob: Buffer): Promise<void> {
  await fs.mkdir(dirname(abs), { recursive: true });
  const st = await fs.lstat(abs).catch(() => null);
  if (st?.isDirectory()) throw new Error('a directory is in the way');
  if (mode === '120000') {
    await fs.rm(abs, { force: true });
    await fs.symlink(blob.toString('utf8'), abs);
    return;
  }
  if (st?.isSymbolicLink()) await fs.rm(abs, { force: true });
  await fs.writeFile(abs, blob);
  await fs.chmod(abs, mode === '100755' ? 0o755 : 0o644);
}

/**
 * Abort whatever rebase/merge is in progress (ours: the caller checked), put HEAD back on
 * `branch` at `target`, and write back the edits made meanwhile. Throws if it cannot
 * finish; the caller then leaves its recovery marker set.
 */
export async function restoreBranch(git: Git, loc: RepoLocation, o: { branch: string; target: string; opId: string; logger: Logger | null }): Promise<StrayEdits> {
  const edits = await captureStrayEdits(git, loc, o.opId);
  // The abort and reset below overwrite these edits until they are written back: a kill
  // in between must not lose them, so the next run finishes the write-back first.
  const pending = pendingRestoreFile(loc);
  if (edits.changed.length > 0 || edits.deleted.length > 0) await writeFileAtomic(pending, JSON.stringify({ op: o.opId, ...edits }) + '\n');
  let ip = await integrationInProgress(git, loc.root);
  if (ip.rebaseDir) {
    await git.run(['rebase', '--abort'], { okCodes: [1, 128] });
    ip = await integrationInProgress(git, loc.root);
    // A broken rebase state that --abort cannot undo: drop the state, keep the refs; the
    // reset below restores the branch.
    if (ip.rebaseDir) await git.run(['rebase', '--quit'], { okCodes: [1, 128] });
  }
  if (ip.mergeHead) await git.run(['merge', '--abort'], { okCodes: [1, 128] });
  ip = await integrationInProgress(git, loc.root);
  if (ip.rebaseDir || ip.mergeHead) throw new SyncFailedError('could not abort the interrupted rebase/merge; see "git status"', { code: 'ERESTORE' });
  const targetSha = (await git.run(['rev-parse', '--verify', '-q', `${o.target}^{commit}`], { readOnly: true })).stdout.trim();
  if ((await currentBranch(git)) !== o.branch) await git.run(['symbolic-ref', '-m', 'sync-coordinator: restore', 'HEAD', `refs/heads/${o.branch}`]);
  const head = (await git.run(['rev-parse', '--verify', '-q', 'HEAD'], { readOnly: true, okCodes: [1] })).stdout.trim();
  if (head && head !== targetSha) await saveBackup(git, o.opId, 'reset');
  await git.run(['reset', '--hard', '--quiet', targetSha]);
  await reapplyStrayEdits(git, loc, edits, o.logger);
  await fs.rm(pending, { force: true });
  return edits;
}

/** Edits saved by a restore whose write-back has not finished (state dir, survives a kill). */
export function pendingRestoreFile(loc: RepoLocation): string {
  return statePaths(loc.root).restorePending;
}

/**
 * A restore was killed between its abort/reset and writing the saved edits back: write
 * them back now, before anything commits the reverted files. Only paths that are still
 * exactly as git left them are written (a path the user changed since keeps the user's
 * newer content; the saved version stays in the snapshot ref, named in the log).
 */
export async function finishPendingRestore(git: Git, loc: RepoLocation, logger: Logger | null): Promise<boolean> {
  const file = pendingRestoreFile(loc);
  let saved: StrayEdits & { op?: string };
  try {
    saved = JSON.parse(await fs.readFile(file, 'utf8')) as StrayEdits & { op?: string };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    logger?.warn({ file, err: (e as Error).message }, 'unreadable pending restore record; moving it aside');
    await fs.rename(file, `${file}.corrupt-${Date.now()}`).catch(() => {});
    return false;
  }
  // What differs from HEAD now was changed after the interrupted restore: not ours to overwrite.
  const touched = new Set([
    ...splitZ((await git.run(['diff', 'HEAD', '--name-only', '--no-renames', '-z'], { readOnly: true, okCodes: [128] })).stdout),
    ...splitZ((await git.run(['ls-files', '-o', '--exclude-standard', '-z'], { readOnly: true })).stdout),
  ]);
  const changed = (saved.changed ?? []).filter((p) => !touched.has(p));
  const deleted = (saved.deleted ?? []).filter((p) => !touched.has(p));
  const keptNewer = [...(saved.changed ?? []), ...(saved.deleted ?? [])].filter((p) => touched.has(p));
  await reapplyStrayEdits(git, loc, { snapshot: saved.snapshot ?? null, ref: saved.ref ?? null, changed, deleted }, logger);
  await fs.rm(file, { force: true });
  logger?.warn(
    { op: saved.op, written_back: changed.length, deleted: deleted.length, kept_newer: keptNewer.slice(0, 20), ref: saved.ref },
    'finished an interrupted restore: wrote back the work-tree edits it had saved',
  );
  return true;
}
