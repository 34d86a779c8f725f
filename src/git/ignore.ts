/**
 * Which paths the watcher ignores, as one predicate over the segments of a path
 * relative to the worktree root. The `watch.ignore` globs are also what the commit step
 * leaves out (stage-filter.ts), so they live here, below both.
 *
 * chokidar 5 has no globs and calls `ignored` synchronously (twice: once without stats,
 * once with), so git's answer is precomputed into a `GitIgnored` snapshot (see
 * watcher/git-queries.ts) and consulted here; what the snapshot misses (files created
 * later) is re-checked with `git check-ignore` after the event (watcher/recheck.ts).
 * Gitignore semantics are never re-implemented here: git is the only judge of what git
 * ignores.
 */
import { isAbsolute, relative, sep } from 'node:path';
import picomatch from 'picomatch';

/** Untracked paths git ignores, relative to the root, no trailing slash. */
export interface GitIgnored {
  /** A directory here ignores everything below it. */
  dirs: ReadonlySet<string>;
  files: ReadonlySet<string>;
}

export const EMPTY_GIT_IGNORED: GitIgnored = { dirs: new Set(), files: new Set() };

export interface IgnoreRules {
  /** Segments of the state directory, e.g. ['.claude', 'sync-coordination']. */
  stateDir: readonly string[];
  /** Compiled config `watch.ignore` globs. */
  globs: readonly ((path: string) => boolean)[];
  gitIgnored: GitIgnored;
}

/**
 * True when the path (segments relative to the root; [] is the root) must not trigger.
 * Checks every ancestor prefix, so ignoring a directory also stops chokidar from
 * descending into it. Needs no stats: `.git` is ignored whether it is a directory or a
 * worktree's `.git` file, and git's snapshot already knows which entries are directories.
 */
export function isIgnoredPath(segments: readonly string[], rules: IgnoreRules): boolean {
  if (segments.length === 0) return false;
  if (segments.includes('.git')) return true;
  const { stateDir } = rules;
  if (stateDir.length > 0 && segments.length >= stateDir.length && stateDir.every((s, i) => segments[i] === s)) {
    return true;
  }
  const { dirs, files } = rules.gitIgnored;
  let prefix = '';
  for (let i = 0; i < segments.length; i++) {
    prefix = i === 0 ? segments[0]! : `${prefix}/${segments[i]!}`;
    if (dirs.has(prefix)) return true;
    if (rules.globs.some((glob) => glob(prefix))) return true;
  }
  return files.has(prefix);
}

/** 'a/b/', './a/b' → ['a', 'b']. Only '/' separates: on POSIX a backslash is part of a name. */
export function toSegments(relPath: string): string[] {
  return relPath.split('/').filter((s) => s !== '' && s !== '.');
}

export function compileGlobs(globs: readonly string[]): ((path: string) => boolean)[] {
  // dot: `.cache/**` must match; config globs name paths relative to the root.
  return globs.map((g) => picomatch(g, { dot: true }));
}

/**
 * The predicate bound to a root, holding the current git snapshot. The snapshot is
 * swapped whole (on start and when a .gitignore changes) and grown by single entries
 * when a re-check finds a path git ignores.
 */
export interface IgnoreFilter {
  /** Absolute path from chokidar. Paths outside the root are ignored. */
  ignoresAbsolute(absPath: string, stats?: unknown): boolean;
  ignoresRelative(relPath: string): boolean;
  /** POSIX path relative to the root, or null when outside it ('' is the root). */
  toRelative(absPath: string): string | null;
  setGitIgnored(snapshot: GitIgnored): void;
  gitIgnored(): GitIgnored;
  addGitIgnored(relPath: string, isDir: boolean): void;
}

export function createIgnoreFilter(opts: { root: string; stateDirRel: string; globs: readonly string[] }): IgnoreFilter {
  const { root } = opts;
  const globs = compileGlobs(opts.globs);
  const stateDir = toSegments(opts.stateDirRel);
  let dirs = new Set<string>();
  let files = new Set<string>();
  let rules: IgnoreRules = { stateDir, globs, gitIgnored: { dirs, files } };

  const toRelative = (absPath: string): string | null => {
    const rel = relative(root, absPath);
    if (rel.startsWith('..') || isAbsolute(rel)) return null;
    return sep === '/' ? rel : rel.split(sep).join('/');
  };

  const ignoresRelative = (relPath: string) => isIgnoredPath(toSegments(relPath), rules);

  return {
    // `stats` is deliberately unused: the answer must be the same on chokidar's first
    // call (no stats) and its second, or a directory could be entered and then dropped.
    ignoresAbsolute(absPath) {
      const rel = toRelative(absPath);
      return rel === null ? true : ignoresRelative(rel);
    },
    ignoresRelative,
    toRelative,
    setGitIgnored(snapshot) {
      dirs = new Set(snapshot.dirs);
      files = new Set(snapshot.files);
      rules = { stateDir, globs, gitIgnored: { dirs, files } };
    },
    gitIgnored: () => ({ dirs, files }),
    addGitIgnored(relPath, isDir) {
      (isDir ? dirs : files).add(relPath);
    },
  };
}
