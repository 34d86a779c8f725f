/**
 * The three read-only questions the watcher asks git, each read from `-z` output
 * (NUL-separated, never quoted, so any file name survives); status uses the sync
 * engine's parser.
 */
import type { GitIgnored } from '../src/git/ignore.js';
import type { ReadGit } from './git-read.js';
import { parseStatusZ } from '../src/git/status.js';

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

/** What differs from HEAD in the worktree and index, untracked files listed one by one. */
export async function statusEntries(git: ReadGit): Promise<StatusEntry[]> {
  const { stdout } = await git(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
  return parseStatusZ(stdout).map((e) => ({ xy: e.x + e.y, path: e.path }));
}
