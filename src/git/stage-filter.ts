/**
 * Commit only what the user would (invariant 16): which of the paths the commit step is
 * about to stage it must leave out, and why.
 *
 * - `ignored`: a `watch.ignore` glob matches the path or one of its directories (the
 *   watcher's own matching, ignore.ts), so `secrets/**` never reaches the remote
 *   through any sync type.
 * - `embedded-repo`: a directory with its own `.git` (a nested repository or a worktree)
 *   that `.gitmodules` does not name: `git add` would record a gitlink nobody else can
 *   resolve.
 * - `submodule-unpushed`: a submodule whose checked-out commit is on none of its
 *   remote-tracking branches: the gitlink would dangle on every other device.
 * - `too-large`: a file over `max_file_size_mb` (hosts reject big files, and the push
 *   would then fail on every sync).
 *
 * Only read-only git, and only where the file system shows a repository inside the tree;
 * the common case is one lstat per entry. Paths are data: they go to lstat, to `cwd` of a
 * submodule's git, never into an option.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../shared/config.js';
import type { ExcludedPath, StateStore } from '../shared/state.js';
import { compileGlobs, toSegments } from './ignore.js';
import { createGit, type Git } from './git.js';
import type { StatusEntry } from './status.js';

export interface StageExclusion {
  path: string;
  reason: 'ignored' | 'embedded-repo' | 'submodule-unpushed' | 'too-large';
  detail: string;
}

const MB = 1024 * 1024;

export async function stagingExclusions(o: { git: Git; root: string; config: Config; entries: StatusEntry[] }): Promise<StageExclusion[]> {
  const globs = compileGlobs(o.config.watch.ignore);
  const matchGlob = (path: string): string | null => {
    const segs = toSegments(path);
    let prefix = '';
    for (let i = 0; i < segs.length; i++) {
      prefix = i === 0 ? segs[0]! : `${prefix}/${segs[i]!}`;
      const at = globs.findIndex((g) => g(prefix));
      if (at >= 0) return o.config.watch.ignore[at]!;
    }
    return null;
  };
  const maxBytes = o.config.max_file_size_mb * MB;
  let submodulePaths: Promise<Set<string>> | null = null;
  const out: StageExclusion[] = [];
  for (const e of o.entries) {
    const glob = matchGlob(e.path) ?? (e.origPath ? matchGlob(e.origPath) : null);
    if (glob !== null) {
      out.push({ path: e.path, reason: 'ignored', detail: `matches watch.ignore glob ${JSON.stringify(glob)}` });
      continue;
    }
    if (e.x === 'D' || e.y === 'D') continue; // a deletion adds no content
    const abs = join(o.root, e.path);
    const st = await fs.lstat(abs).catch(() => null);
    if (!st) continue;
    if (st.isFile()) {
      if (st.size > maxBytes) {
        out.push({ path: e.path, reason: 'too-large', detail: `${(st.size / MB).toFixed(1)} MB, over max_file_size_mb (${o.config.max_file_size_mb})` });
      }
      continue;
    }
    if (!st.isDirectory() || !(await hasDotGit(abs))) continue;
    const rel = e.path.replace(/\/+$/, '');
    submodulePaths ??= registeredSubmodules(o.git, o.root);
    if (!(await submodulePaths).has(rel)) {
      out.push({
        path: e.path,
        reason: 'embedded-repo',
        detail: 'a git repository or worktree inside the work tree (it has its own .git) and no submodule in .gitmodules',
      });
      continue;
    }
    const unpushed = await unpushedSubmoduleCommit(abs);
    if (unpushed) out.push({ path: e.path, reason: 'submodule-unpushed', detail: unpushed });
  }
  return out;
}

async function hasDotGit(dir: string): Promise<boolean> {
  return fs.lstat(join(dir, '.git')).then(
    () => true,
    () => false,
  );
}

/** Submodule paths named in the work tree's `.gitmodules` (git parses it; its content is data). */
async function registeredSubmodules(git: Git, root: string): Promise<Set<string>> {
  const file = join(root, '.gitmodules');
  if (
    !(await fs.lstat(file).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    return new Set();
  const r = await git.run(['config', '-z', '--file', file, '--get-regexp', '^submodule\\..*\\.path$'], { readOnly: true, okCodes: [1], timeoutMs: 15_000 });
  // -z: "<key>\n<value>\0" per entry.
  return new Set(
    r.stdout
      .split('\0')
      .filter(Boolean)
      .map((rec) => rec.slice(rec.indexOf('\n') + 1).replace(/\/+$/, '')),
  );
}

/**
 * Why the submodule's checked-out commit must not be recorded, or null when one of its
 * remote-tracking branches contains it. Read-only git inside the submodule.
 */
async function unpushedSubmoduleCommit(dir: string): Promise<string | null> {
  const sub = createGit(dir, null);
  const head = await sub.run(['rev-parse', '--verify', '-q', 'HEAD'], { readOnly: true, okCodes: [1], timeoutMs: 15_000 });
  const sha = head.stdout.trim();
  if (head.code !== 0 || !/^[0-9a-f]{40,64}$/.test(sha)) return 'the submodule has no commit checked out';
  const r = await sub.run(['for-each-ref', '--count=1', '--format=%(refname)', '--contains', sha, 'refs/remotes'], { readOnly: true, timeoutMs: 15_000 });
  if (r.stdout.trim() !== '') return null;
  return `its commit ${sha.slice(0, 12)} is on none of the submodule's remote branches; push it from the submodule first`;
}

/**
 * Pure: the exclusions to record (each keeps the `since` of an identical earlier one) and
 * the ones not seen in the previous record, which are the ones to warn about. A path
 * that stops being excluded is dropped, so it is warned about again if it comes back.
 */
export function mergeExclusions(
  previous: readonly ExcludedPath[],
  current: readonly StageExclusion[],
  now: string,
): { next: ExcludedPath[]; fresh: StageExclusion[] } {
  const key = (x: { path: string; reason: string }) => `${x.reason}\0${x.path}`;
  const before = new Map(previous.map((p) => [key(p), p]));
  const next: ExcludedPath[] = [];
  const fresh: StageExclusion[] = [];
  for (const c of current) {
    const old = before.get(key(c));
    if (!old) fresh.push(c);
    next.push({ path: c.path, reason: c.reason, detail: c.detail, since: old?.since ?? now });
  }
  return { next, fresh };
}

/**
 * Records the current exclusions in coordinator-state.json (lock holder only) and returns
 * the new ones, to warn about once. Writes only when the record changes.
 */
export async function recordExclusions(store: StateStore, current: readonly StageExclusion[], now = new Date()): Promise<StageExclusion[]> {
  const { next, fresh } = mergeExclusions(store.get().excluded ?? [], current, now.toISOString());
  const prev = store.get().excluded ?? [];
  const same = prev.length === next.length && next.every((n, i) => prev[i]?.path === n.path && prev[i]?.reason === n.reason && prev[i]?.detail === n.detail);
  if (!same)
    await store.update((s) => {
      s.excluded = next;
    });
  return fresh;
}

/** One warning line per new exclusion, for the log and the sync's message. */
export function exclusionWarning(x: StageExclusion): string {
  return `not committed: ${x.path} (${x.reason}: ${x.detail})`;
}
