/**
 * The three read-only questions the watcher asks git, each with a pure parser for its
 * `-z` output (NUL-separated, never quoted, so any file name survives).
 */
import type { GitIgnored } from './ignore.js';
import type { ReadGit } from './git-read.js';

function splitNul(out: string): string[] {
  return out.split('\0').filter((s) => s !== '');
}

/** `ls-files -o -i --directory -z`: a trailing '/' marks a wholly ignored directory. */
export function parseIgnoredListing(out: string): GitIgnored {
  const dirs = new Set<string>();
  const files = new Set<string>();
  for (const entry of splitNul(out)) {
    if (entry.endsWith('/')) dirs.add(entry.slice(0, -1));
    else files.add(entry);
  }
  return { dirs, files };
}

/**
 * Every untracked path git ignores (nested .gitignore files, .git/info/exclude,
 * core.excludesFile), with wholly ignored directories collapsed to one entry so a huge
 * node_modules costs one line and is never descended into.
 */
export async function listGitIgnored(git: ReadGit): Promise<GitIgnored> {
  const { stdout } = await git(['ls-files', '--others', '--ignored', '--exclude-standard', '--directory', '-z']);
  return parseIgnoredListing(stdout);
}

/** The subset of `paths` (relative to the root) that git ignores. Tracked files never are. */
export async function checkIgnored(git: ReadGit, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  // --stdin with -z: file names are data, never options. Exit 1 means "none ignored".
  const { stdout } = await git(['check-ignore', '-z', '--stdin'], {
    input: paths.join('\0') + '\0',
    okCodes: [1],
  });
  return new Set(splitNul(stdout));
}

export interface StatusEntry {
  /** The two status letters, e.g. ' M', '??', 'R '. */
  xy: string;
  path: string;
}

/** `status --porcelain=v1 -z`: `XY path\0`, and for renames/copies `XY to\0from\0`. */
export function parseStatusZ(out: string): StatusEntry[] {
  const tokens = out.split('\0');
  const entries: StatusEntry[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.length < 4) continue;
    const xy = token.slice(0, 2);
    entries.push({ xy, path: token.slice(3) });
    // The source of a rename or copy follows as its own token; it is not a new entry.
    if (/[RC]/.test(xy)) i++;
  }
  return entries;
}

/** What differs from HEAD in the worktree and index, untracked files listed one by one. */
export async function statusEntries(git: ReadGit): Promise<StatusEntry[]> {
  const { stdout } = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  return parseStatusZ(stdout);
}
