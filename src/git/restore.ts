/**
 * Putting the repository back after an integration the coordinator started went wrong
 * (an error, the `manual` policy, or a crash found by recovery), without ever
 * discarding a change somebody made to the work tree meanwhile (invariant 4).
 *
 * What differs from what git itself last wrote — tracked files that differ from the
 * index (unmerged paths excepted: git wrote those), and untracked files — is an edit
 * made while the integration ran (or while a killed sync lay dead). Those files are
 * saved in a commit under `refs/sync-coordinator/backup/<op>-worktree` and then never
 * written: the restore sets their index entries to the target's and leaves the files as
 * they are. Every other path is moved to the target by `git read-tree -m -u`, which
 * rewrites a file only after checking that it is still exactly what git last wrote (an
 * edit saved after the snapshot makes it refuse; that path is then kept too, and the
 * restore tried again). So there is no write-back step, nothing older is ever written
 * over something newer, and a kill at any point leaves every edit in the work tree.
 *
 * A saved file whose conflict-marker lines are not in the target is git's half-finished
 * merge, not an edit: it is replaced like the unmerged paths (only if still as saved),
 * its content stays in the snapshot ref, and the log names it.
 */
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyncFailedError } from '../core/errors.js';
import { existsNoFollow } from '../core/exists-no-follow.js';
import type { Logger } from '../log.js';
import { saveBackup } from './backup.js';
import type { Git } from './git.js';
import { markerLines } from './markers.js';
import { currentBranch, integrationInProgress, unmergedPaths } from './preflight.js';

export interface RepoLocation {
  root: string;
  gitDir: string;
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

/** An index entry (blob or gitlink). */
interface Entry {
  mode: string;
  sha: string;
}

interface Capture extends StrayEdits {
  /** Unmerged paths when the snapshot was taken. */
  unmerged: string[];
  /**
   * Content git wrote (unmerged paths; saved files carrying its conflict markers), as it
   * was when the snapshot was taken: replaced only while it is still exactly that.
   */
  gitWritten: Map<string, Entry>;
}

const ZERO_SHA = '0'.repeat(40);
/**
 * Each failed attempt finds at least one more path to keep. Files that keep changing
 * faster than that make the restore fail; nothing is lost, and the next run tries again.
 */
const MAX_ATTEMPTS = 5;

function splitZ(out: string): string[] {
  return out.split('\0').filter(Boolean);
}

/** `mode sha stage\tpath` (ls-files -s) or `mode type sha\tpath` (ls-tree) records → path → entry. */
function parseEntries(out: string, shaField: 1 | 2): Map<string, Entry> {
  const map = new Map<string, Entry>();
  for (const rec of splitZ(out)) {
    const tab = rec.indexOf('\t');
    const fields = rec.slice(0, tab).split(' ');
    const mode = fields[0];
    const sha = fields[shaField];
    if (tab > 0 && mode && sha) map.set(rec.slice(tab + 1), { mode, sha });
  }
  return map;
}

/**
 * Hash work-tree files the way `git add` would (filters, symlinks, exec bit), in a
 * throw-away index. A path that is gone by now is simply absent from the result.
 * With `snapshotMessage`, the hashed files are also committed (the snapshot).
 */
async function hashFiles(git: Git, loc: RepoLocation, paths: string[], snapshotMessage?: string): Promise<{ entries: Map<string, Entry>; commit: string | null }> {
  if (paths.length === 0) return { entries: new Map(), commit: null };
  const tmpIndex = join(loc.gitDir, `sync-coordinator-snapshot-${process.pid}.index`);
  const env = { GIT_INDEX_FILE: tmpIndex };
  try {
    await fs.rm(tmpIndex, { force: true });
    await git.run(['update-index', '--add', '--remove', '-z', '--stdin'], { env, input: paths.map((p) => `${p}\0`).join('') });
    const entries = parseEntries((await git.run(['ls-files', '-s', '-z'], { env })).stdout, 1);
    let commit: string | null = null;
    if (snapshotMessage !== undefined) {
      const tree = (await git.run(['write-tree'], { env })).stdout.trim();
      commit = (await git.run(['commit-tree', tree, '-F', '-'], { input: snapshotMessage })).stdout.trim();
    }
    return { entries, commit };
  } finally {
    await fs.rm(tmpIndex, { force: true });
  }
}

/** Marker lines in `text` that `rev`'s version of `path` does not have (git's, not the user's). */
async function introducesMarkers(git: Git, rev: string, path: string, text: string): Promise<boolean> {
  const markers = markerLines(text);
  if (markers.length === 0) return false;
  const res = await git.run(['ls-tree', '-z', '--full-tree', rev, '--', path], { readOnly: true, literalPaths: true });
  const sha = res.stdout.split('\t')[0]?.split(' ')[2];
  const before = sha ? new Set(markerLines((await git.run(['cat-file', 'blob', sha], { readOnly: true })).stdout)) : new Set<string>();
  return markers.some((l) => !before.has(l));
}

async function blobText(git: Git, sha: string): Promise<string> {
  return (await git.run(['cat-file', 'blob', sha], { readOnly: true })).stdout;
}

/**
 * Save every work-tree edit git did not make itself (see the module comment), and note
 * what git wrote, as it is now, so that the restore can tell a later edit from it.
 * `target` is what the restore moves to (for telling git's markers from the user's).
 */
export async function captureStrayEdits(git: Git, loc: RepoLocation, opId: string, target = 'HEAD'): Promise<Capture> {
  // Unmerged paths: git wrote them (with markers) and the index has no record of what it
  // wrote, so their content as of now is taken as git's: read it first thing.
  const unmerged = await unmergedPaths(git);
  const gitWritten = (await hashFiles(git, loc, unmerged.filter((p) => existsNoFollow(join(loc.root, p))))).entries;
  const diff = splitZ((await git.run(['diff', '--name-status', '--no-renames', '-z'], { readOnly: true })).stdout);
  // `git diff` lists unmerged paths as "U" and again as a change against stage 2, so
  // exclude them by the index, not by status.
  const unmergedSet = new Set(unmerged);
  const changedSet = new Set<string>();
  const deleted: string[] = [];
  for (let i = 0; i + 1 < diff.length; i += 2) {
    const status = diff[i]!;
    const path = diff[i + 1]!;
    if (status === 'U' || unmergedSet.has(path)) continue;
    if (status === 'D') deleted.push(path);
    else changedSet.add(path);
  }
  const untracked = splitZ((await git.run(['ls-files', '-o', '--exclude-standard', '-z'], { readOnly: true })).stdout).filter((p) => !p.endsWith('/'));
  for (const p of untracked) changedSet.add(p);
  const changed = [...changedSet];
  const message = `sync-coordinator: work-tree edits saved before restoring op ${opId}\n\n${changed.length} changed, ${deleted.length} deleted\n`;
  const saved = await hashFiles(git, loc, changed, changed.length > 0 ? message : undefined);
  const ref = saved.commit ? await saveBackup(git, `${opId}-worktree`, 'restore (work-tree edits)', saved.commit) : null;
  for (const [path, e] of saved.entries) {
    if (e.mode !== '160000' && (await introducesMarkers(git, target, path, await blobText(git, e.sha)))) gitWritten.set(path, e);
  }
  return { snapshot: saved.commit, ref, changed, deleted, unmerged, gitWritten };
}

/** Set (or, for null, drop every stage of) index entries, without touching the work tree. */
async function setIndexEntries(git: Git, entries: Map<string, Entry | null>): Promise<void> {
  if (entries.size === 0) return;
  const lines: string[] = [];
  for (const [path, e] of entries) {
    lines.push(`0 ${ZERO_SHA}\t${path}`);
    if (e) lines.push(`${e.mode} ${e.sha}\t${path}`);
  }
  await git.run(['update-index', '-z', '--index-info'], { input: lines.map((l) => `${l}\0`).join('') });
}

/**
 * Index := `target`'s tree. In the work tree, a path is moved to the target only while
 * it is what git wrote; every other path keeps its content (see the module comment).
 */
async function restoreTree(git: Git, loc: RepoLocation, target: string, cap: Capture, logger: Logger | null): Promise<void> {
  const wanted = parseEntries((await git.run(['ls-tree', '-r', '-z', '--full-tree', target], { readOnly: true })).stdout, 2);
  const gitWritten = new Map(cap.gitWritten);
  const kept = new Set([...cap.changed.filter((p) => !gitWritten.has(p)), ...cap.deleted]);
  // Kept paths get the target's entry, so the two trees below agree on them and
  // read-tree leaves their files alone; git's paths get what it wrote, as saved.
  const entryFor = (p: string): Entry | null => (kept.has(p) ? wanted.get(p) ?? null : gitWritten.get(p) ?? null);
  let todo = new Set([...kept, ...gitWritten.keys(), ...cap.unmerged]);
  for (let attempt = 1; ; attempt++) {
    await setIndexEntries(git, new Map([...todo].map((p) => [p, entryFor(p)])));
    todo = new Set();
    // read-tree judges "still what git wrote" by the index's stat data: refresh it, which
    // records a file's stat only while its content equals the entry.
    await git.run(['update-index', '-q', '--refresh'], { okCodes: [1] });
    const from = (await git.run(['write-tree'])).stdout.trim();
    const keep = await missingOrInTheWay(git, loc.root, from, target);
    let why = 'files kept changing under the restore';
    if (keep.length === 0) {
      const res = await git.run(['read-tree', '-m', '-u', from, `${target}^{tree}`], { okCodes: [128] });
      if (res.code === 0) return;
      why = res.stderr.trim().slice(0, 300);
      // A file changed after it was judged git's (read-tree refused to overwrite it).
      const moved = splitZ((await git.run(['diff', '--name-only', '--no-renames', '-z'], { readOnly: true })).stdout).filter((p) => !kept.has(p));
      const now = (await hashFiles(git, loc, moved)).entries;
      for (const p of moved) {
        const e = now.get(p);
        if (gitWritten.has(p) && e && e.mode !== '160000' && (await introducesMarkers(git, target, p, await blobText(git, e.sha)))) {
          // Still git's conflict output, edited or not: kept, its markers would reach a commit.
          logger?.warn({ path: p, blob: e.sha }, 'a file with conflict markers changed during the restore; it gets the restored version (the changed content is kept as the blob named here)');
          gitWritten.set(p, e);
          todo.add(p);
        } else {
          keep.push(p);
        }
      }
    }
    for (const p of keep) {
      gitWritten.delete(p);
      kept.add(p);
      todo.add(p);
    }
    if (attempt >= MAX_ATTEMPTS) throw new SyncFailedError(`could not restore the work tree without overwriting a changed file: ${why}`, { code: 'ERESTORE' });
  }
}

/**
 * read-tree takes a missing file as up to date and writes it back: paths the restore
 * would change whose file was deleted since the snapshot, or where the target adds a
 * path and a file already is (untracked or ignored), are the user's and must be kept.
 */
async function missingOrInTheWay(git: Git, root: string, from: string, target: string): Promise<string[]> {
  const changes = splitZ((await git.run(['diff-tree', '-r', '-z', '--no-renames', '--name-status', from, target], { readOnly: true })).stdout);
  const keep: string[] = [];
  for (let i = 0; i + 1 < changes.length; i += 2) {
    const status = changes[i]!;
    const path = changes[i + 1]!;
    const there = existsNoFollow(join(root, path));
    if (status === 'A' ? there : status !== 'D' && !there) keep.push(path);
  }
  return keep;
}

/** Drop the rebase/merge state without touching the index or the work tree (already restored). */
async function dropIntegrationState(git: Git, gitDir: string, target: string): Promise<void> {
  await dropOurPickState(git, gitDir, target);
  let ip = integrationInProgress(gitDir);
  if (ip.rebaseDir) await git.run(['rebase', '--quit'], { okCodes: [1, 128] });
  if (ip.mergeHead) {
    const quit = await git.run(['merge', '--quit'], { okCodes: [1, 128, 129] });
    // git < 2.23 has no --quit. --abort is `reset --merge` to HEAD, which changes nothing
    // here (our merges run on the branch at the target, so the index already is HEAD's
    // tree) and never overwrites a file with local changes.
    if (quit.code === 129) await git.run(['merge', '--abort'], { okCodes: [1, 128] });
  }
  ip = integrationInProgress(gitDir);
  if (ip.rebaseDir || ip.mergeHead) throw new SyncFailedError('could not end the interrupted rebase/merge; see "git status"', { code: 'ERESTORE' });
}

/**
 * The rebase's sequencer writes CHERRY_PICK_HEAD (and MERGE_MSG) for a pick that stops
 * on a conflict and deletes it again a moment later, in the same process: a kill in
 * between leaves it, `rebase --quit` does not remove it, and every later sync would then
 * refuse to run beside "a cherry-pick in progress". It is ours when it names a commit of
 * the history being restored (the local commits our rebase was replaying); a user's own
 * cherry-pick of another commit is left alone.
 */
async function dropOurPickState(git: Git, gitDir: string, target: string): Promise<void> {
  const file = join(gitDir, 'CHERRY_PICK_HEAD');
  let picked: string;
  try {
    picked = readFileSync(file, 'utf8').trim();
  } catch {
    return;
  }
  if (!/^[0-9a-f]{40,64}$/.test(picked) || existsSync(join(gitDir, 'sequencer'))) return;
  const ours = await git.run(['merge-base', '--is-ancestor', picked, target], { readOnly: true, okCodes: [1, 128] });
  if (ours.code !== 0) return;
  await git.run(['update-ref', '-d', 'CHERRY_PICK_HEAD', picked], { okCodes: [1] });
  await fs.rm(join(gitDir, 'MERGE_MSG'), { force: true });
}

/**
 * End whatever rebase/merge is in progress (ours: the caller checked), put HEAD back on
 * `branch` at `target`, keeping every edit made meanwhile in the work tree. Throws if it
 * cannot finish; the caller then leaves its recovery marker set, and running this again
 * from any point it was interrupted at is safe.
 */
export async function restoreBranch(git: Git, loc: RepoLocation, o: { branch: string; target: string; opId: string; logger: Logger | null }): Promise<StrayEdits> {
  const targetSha = (await git.run(['rev-parse', '--verify', '-q', `${o.target}^{commit}`], { readOnly: true, okCodes: [1] })).stdout.trim();
  if (!targetSha) throw new SyncFailedError(`cannot restore: ${o.target} is not a commit`, { code: 'ERESTORE' });
  const branchRef = `refs/heads/${o.branch}`;
  const tip = (await git.run(['rev-parse', '--verify', '-q', `${branchRef}^{commit}`], { readOnly: true, okCodes: [1] })).stdout.trim();
  if (tip && tip !== targetSha) await saveBackup(git, o.opId, 'reset', tip);
  const cap = await captureStrayEdits(git, loc, o.opId, targetSha);
  await restoreTree(git, loc, targetSha, cap, o.logger);
  // Work tree and index first, HEAD last: a kill in between leaves a rebase/merge in
  // progress or a detached HEAD, which recovery finds and restores again.
  await dropIntegrationState(git, loc.gitDir, targetSha);
  if (tip !== targetSha) await git.run(['update-ref', '-m', 'sync-coordinator: restore', branchRef, targetSha, ...(tip ? [tip] : [])]);
  if ((await currentBranch(git)) !== o.branch) await git.run(['symbolic-ref', '-m', 'sync-coordinator: restore', 'HEAD', branchRef]);
  await git.run(['update-index', '-q', '--refresh'], { okCodes: [1] });
  const replaced = cap.changed.filter((p) => cap.gitWritten.has(p));
  if (replaced.length > 0) {
    o.logger?.warn({ replaced: replaced.slice(0, 20), ref: cap.ref }, 'some changed files carried conflict markers from the interrupted merge and got the restored version; their content is kept in the snapshot ref');
  }
  return { snapshot: cap.snapshot, ref: cap.ref, changed: cap.changed, deleted: cap.deleted };
}
