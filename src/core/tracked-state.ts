/**
 * A state file that git tracks is never used (invariant 14). The state directory is only
 * excluded (`.git/info/exclude`), and git overwrites excluded files when it checks out
 * tracked ones: a remote tree that tracks `.claude/sync-coordination/...` (added with
 * `git add -f`) replaces this device's config, lock owner, queue or state on the user's
 * own `git pull`. Once that has happened the coordinator refuses to use the directory
 * until the repository is cleaned.
 *
 * The check runs on every command (request-sync's hot path too), so it is cheap: the
 * index file's bytes are searched for the state directory's path, and only a hit (or an
 * index whose format hides paths) costs a read-only `git ls-files`. The result is kept
 * per index file and reused while the file's stat is unchanged (the daemon asks often).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Git } from '../git/git.js';
import { TrackedStateError } from '../shared/errors.js';
import { STATE_DIR_REL } from '../git/workspace.js';

const PREFIX = Buffer.from(`${STATE_DIR_REL}/`);
const NAME = Buffer.from(STATE_DIR_REL);

/** How to clean a repository that tracks the state directory, ready to paste. */
export const CLEAN_COMMAND = `git rm -r --cached ${STATE_DIR_REL} && git commit -m "Stop tracking sync-coordinator state"`;

/** Is this path (relative to the work tree, `/`-separated) the state directory or inside it? */
export function isStatePath(path: string): boolean {
  return path === STATE_DIR_REL || path.startsWith(`${STATE_DIR_REL}/`);
}

/**
 * What the index file's bytes tell: `false` = it certainly tracks nothing under the state
 * directory; `true` = a path that looks like it (confirm with ls-files); `null` = this
 * format cannot be searched (version 4 compresses each path against the previous one, so
 * the full path is not in the bytes; a split index keeps most entries elsewhere).
 */
export function indexMayTrackState(index: Buffer): boolean | null {
  if (index.length < 12 || index.toString('latin1', 0, 4) !== 'DIRC') return null;
  const version = index.readUInt32BE(4);
  if (version !== 2 && version !== 3) return null;
  // The entry for a symlink or file named exactly `.claude/sync-coordination` ends in the
  // NUL padding; every path under it contains the prefix with its slash.
  if (index.indexOf(PREFIX) >= 0) return true;
  const at = index.indexOf(NAME);
  if (at >= 0 && index[at + NAME.length] === 0) return true;
  // Split index: its `link` extension names a shared index holding the other entries.
  if (index.indexOf('link') >= 0) return null;
  return false;
}

/**
 * Paths under the state directory in `git ls-tree -r -z` output (full format, or
 * `--name-only` when `nameOnly`). For the integrate step: a remote tree that tracks any
 * of them must not be checked out over this device's state.
 */
export function statePathsInTree(lsTreeOutput: string, opts: { nameOnly?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const rec of lsTreeOutput.split('\0')) {
    if (!rec) continue;
    const tab = rec.indexOf('\t');
    const path = opts.nameOnly || tab < 0 ? rec : rec.slice(tab + 1);
    if (isStatePath(path)) out.push(path);
  }
  return out;
}

/**
 * Paths under the state directory that the tree of `commit` tracks (read-only git). For
 * the integrate step, before anything is checked out.
 */
export async function treeStatePaths(git: Git, commit: string): Promise<string[]> {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit)) throw new Error(`not a full object id: ${JSON.stringify(commit)}`);
  const r = await git.run(['ls-tree', '-r', '-z', '--full-tree', '--name-only', commit, '--', STATE_DIR_REL], { readOnly: true, timeoutMs: 30_000 });
  return statePathsInTree(r.stdout, { nameOnly: true });
}

interface Memo {
  key: string;
  paths: string[];
}
const memo = new Map<string, Memo>();

/**
 * Paths under the state directory that this work tree's index tracks, sorted; empty in a
 * clean repository (the common case costs a stat and one file read, no git process).
 */
export async function trackedStatePaths(ws: { gitDir: string; git: Git }): Promise<string[]> {
  const indexFile = join(ws.gitDir, 'index');
  let key: string;
  let bytes: Buffer;
  try {
    const st = await fs.stat(indexFile);
    key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const hit = memo.get(indexFile);
    if (hit && hit.key === key) return hit.paths;
    bytes = await fs.readFile(indexFile);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []; // no index yet: nothing is tracked
    throw e;
  }
  let paths: string[] = [];
  if (indexMayTrackState(bytes) !== false) {
    const r = await ws.git.run(['ls-files', '-z', '--', STATE_DIR_REL], { readOnly: true, timeoutMs: 30_000 });
    paths = r.stdout
      .split('\0')
      .filter((p) => p && isStatePath(p))
      .sort();
  }
  memo.set(indexFile, { key, paths });
  return paths;
}

/** The refusal: names the paths (a few) and how to clean the repository. */
export function trackedStateMessage(paths: string[]): string {
  const shown = paths.slice(0, 5).join(', ') + (paths.length > 5 ? ` and ${paths.length - 5} more` : '');
  return (
    `git tracks files in the state directory (${shown}): a commit from another device put them there, ` +
    `so sync-coordinator will not use them as its config, lock or state. ` +
    `Clean the repository (this keeps the files on disk): ${CLEAN_COMMAND}; then check ${STATE_DIR_REL}/config.json, which may now hold the other device's settings`
  );
}

/** Throws TrackedStateError (exit 1) when git tracks anything under the state directory. */
export async function assertStateUntracked(ws: { gitDir: string; git: Git }): Promise<void> {
  const paths = await trackedStatePaths(ws);
  if (paths.length > 0) throw new TrackedStateError(trackedStateMessage(paths), paths);
}
