/**
 * The conflict policy (DESIGN.md section 5), applied per path while a rebase or merge
 * the coordinator started is stopped on conflicts. Every resolution stages a whole blob
 * taken verbatim from one side (`update-index --cacheinfo`, then `checkout-index` to
 * write it), never a file git wrote markers into, and never `git add` of the work tree.
 *
 * Sides: during a rebase stage 2 ("ours") is the upstream, i.e. the REMOTE, and stage 3
 * ("theirs") is the LOCAL commit being replayed; during a merge it is the other way round.
 *
 * Per path, with L = local side, R = remote side:
 * - system files (`system_files` globs): the local version, whatever it is (a local
 *   delete deletes);
 * - user files, policy `conflict-copy`:
 *   - both sides have content (content, add/add, binary, rename/rename into one path):
 *     R stays at the path, L is written beside it as a conflict copy;
 *   - one side deleted the file and the other changed it (delete/modify, rename/delete):
 *     the changed side is kept at the path, whichever side it is. A deletion never wins
 *     over an edit, so no edit is lost; the record says the deletion was undone.
 * - user files, policy `manual`: nothing is resolved; the caller aborts and restores.
 */
import { join } from 'node:path';
import picomatch from 'picomatch';
import type { ConflictRecord } from '../core/conflict-log.js';
import { existsNoFollow } from '../core/exists-no-follow.js';
import { SyncFailedError } from '../core/errors.js';
import { conflictStamp, pickConflictCopyPath } from './conflict-copy.js';
import type { Git } from './git.js';
import { track, type ConflictTracker } from './markers.js';

export interface StageEntry {
  mode: string;
  sha: string;
}

export interface UnmergedPath {
  path: string;
  base?: StageEntry;
  ours?: StageEntry;
  theirs?: StageEntry;
}

/** Parse `git ls-files -u -z` (pure). */
export function parseUnmerged(out: string): UnmergedPath[] {
  const byPath = new Map<string, UnmergedPath>();
  for (const rec of out.split('\0')) {
    const tab = rec.indexOf('\t');
    if (tab < 0) continue;
    const [mode = '', sha = '', stage = ''] = rec.slice(0, tab).split(' ');
    const path = rec.slice(tab + 1);
    const u = byPath.get(path) ?? { path };
    const entry = { mode, sha };
    if (stage === '1') u.base = entry;
    else if (stage === '2') u.ours = entry;
    else if (stage === '3') u.theirs = entry;
    byPath.set(path, u);
  }
  return [...byPath.values()];
}

export type Integration = 'rebase' | 'merge';

/** Local and remote sides of an unmerged path, by what git is doing. */
export function sides(u: UnmergedPath, how: Integration): { local?: StageEntry; remote?: StageEntry } {
  return how === 'rebase' ? { local: u.theirs, remote: u.ours } : { local: u.ours, remote: u.theirs };
}

export function systemMatcher(globs: string[]): (path: string) => boolean {
  if (globs.length === 0) return () => false;
  return picomatch(globs, { dot: true });
}

/** Paths named in git's `CONFLICT (rename/...)` lines, for the log's `kind` only. */
export function renameConflictMentions(output: string): string[] {
  return output.split('\n').filter((l) => /^CONFLICT \(rename/.test(l.trim()));
}

export interface StopPlan {
  /** User paths in conflict (what `manual` leaves for the user). */
  userPaths: string[];
  systemPaths: string[];
}

export function planStop(unmerged: UnmergedPath[], isSystem: (p: string) => boolean): StopPlan {
  const plan: StopPlan = { userPaths: [], systemPaths: [] };
  for (const u of unmerged) (isSystem(u.path) ? plan.systemPaths : plan.userPaths).push(u.path);
  return plan;
}

export interface ResolveOptions {
  git: Git;
  root: string;
  how: Integration;
  isSystem: (p: string) => boolean;
  device: string;
  opId: string;
  now: Date;
  /** git's own output of the stopped command (for the `rename` kind). */
  output: string;
  tracker: ConflictTracker;
  /** Conflict-copy names already chosen in this sync. */
  chosen: Set<string>;
}

const GITLINK = '160000';

/**
 * Resolve every unmerged path of the current stop (policy conflict-copy + system files).
 * Returns the conflict records to log once the integration succeeds.
 */
export async function resolveStop(unmerged: UnmergedPath[], o: ResolveOptions): Promise<ConflictRecord[]> {
  const { git } = o;
  const records: ConflictRecord[] = [];
  const stamp = conflictStamp(o.now);
  const time = o.now.toISOString();
  const renameLines = renameConflictMentions(o.output);
  const indexPaths = new Set((await git.run(['ls-files', '-z'], { readOnly: true })).stdout.split('\0').filter(Boolean));
  const taken = (p: string) => indexPaths.has(p) || o.chosen.has(p) || existsNoFollow(join(o.root, p));
  const stageAt: Array<{ path: string; e: StageEntry }> = [];
  const remove: string[] = [];

  for (const u of unmerged) {
    const { local, remote } = sides(u, o.how);
    if ([u.base, local, remote].some((e) => e?.mode === GITLINK)) {
      throw new SyncFailedError(`cannot resolve a submodule conflict at ${u.path} automatically; update the submodule by hand and sync again`, { code: 'ESUBMODULE' });
    }
    track(o.tracker, u.path, u.base?.sha, local?.sha, remote?.sha);
    const kind = await conflictKind(git, u, local, remote, renameLines);
    const base = { time, op: o.opId, path: u.path, kind, device: o.device } as const;
    if (o.isSystem(u.path)) {
      if (local) stageAt.push({ path: u.path, e: local });
      else remove.push(u.path);
      records.push({ ...base, policy: 'system-ours', outcome: 'resolved-ours', copy_path: null });
      continue;
    }
    if (local && remote) {
      stageAt.push({ path: u.path, e: remote });
      if (local.sha === remote.sha) continue; // only the mode differs: nothing of the local side is lost
      const copy = pickConflictCopyPath(u.path, stamp, o.device, taken);
      o.chosen.add(copy);
      track(o.tracker, copy, local.sha);
      stageAt.push({ path: copy, e: local });
      records.push({ ...base, policy: 'conflict-copy', outcome: 'copy-created', copy_path: copy });
    } else {
      // delete/modify: the side that still has content is the edit; keep it at the path.
      const kept = local ?? remote;
      if (!kept) {
        remove.push(u.path); // both sides moved it away (rename/rename): nothing to keep here
        continue;
      }
      stageAt.push({ path: u.path, e: kept });
      records.push({ ...base, policy: 'conflict-copy', outcome: 'kept-modified', copy_path: null });
    }
  }

  // Stage verbatim blobs (replaces the unmerged stages), then write them to the work tree.
  for (const { path, e } of stageAt) {
    await git.run(['update-index', '--add', '--cacheinfo', `${e.mode},${e.sha},${path}`]);
  }
  if (remove.length > 0) {
    await git.run(['update-index', '-z', '--force-remove', '--stdin'], { input: remove.map((p) => `${p}\0`).join('') });
  }
  if (stageAt.length > 0) {
    await git.run(['checkout-index', '-f', '-z', '--stdin'], { input: stageAt.map((s) => `${s.path}\0`).join('') });
  }
  for (const p of remove) await unlinkQuiet(join(o.root, p));
  return records;
}

async function conflictKind(git: Git, u: UnmergedPath, local: StageEntry | undefined, remote: StageEntry | undefined, renameLines: string[]): Promise<ConflictRecord['kind']> {
  if (renameLines.some((l) => l.includes(u.path))) return 'rename';
  if (!local || !remote) return 'delete-modify';
  if ((await isBinaryBlob(git, local.sha)) || (await isBinaryBlob(git, remote.sha))) return 'binary';
  if (!u.base) return 'add-add';
  return 'content';
}

/** git's own heuristic: a NUL byte in the first 8000 bytes. */
async function isBinaryBlob(git: Git, sha: string): Promise<boolean> {
  const res = await git.run(['cat-file', 'blob', sha], { readOnly: true });
  return res.stdoutBytes.subarray(0, 8000).includes(0);
}

async function unlinkQuiet(p: string): Promise<void> {
  const { rm } = await import('node:fs/promises');
  await rm(p, { force: true });
}
