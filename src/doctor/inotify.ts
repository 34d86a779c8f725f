/**
 * inotify watch limit (Linux): the watcher needs one watch per directory it follows (it
 * watches directories only; a directory's watch reports its files' changes). Counted
 * from git: every directory that holds a tracked file or an untracked file that is not
 * ignored (`git ls-files` / `--others --exclude-standard`). The limit is per user and
 * shared with editors and other watchers, so more than ~80% of it is already a problem:
 * the watcher would fall back to polling git status (slower to notice changes).
 */
import { promises as fs } from 'node:fs';
import type { Git } from '../git/git.js';
import { ok, warn, type CheckResult } from './types.js';

const NAME = 'inotify watches';
export const LIMIT_FILE = '/proc/sys/fs/inotify/max_user_watches';
export const WARN_RATIO = 0.8;
export const SYSCTL_FIX = 'echo fs.inotify.max_user_watches=524288 | sudo tee -a /etc/sysctl.conf && sudo sysctl -p';

/** Files and the distinct directories holding them (the work tree root included). */
export function countWatchTargets(paths: Iterable<string>): { files: number; dirs: number } {
  const dirs = new Set<string>(['']);
  let files = 0;
  for (const p of paths) {
    if (!p) continue;
    files++;
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const d = p.slice(0, i);
      if (dirs.has(d)) break; // its parents are in already
      dirs.add(d);
    }
  }
  return { files, dirs: dirs.size };
}

export function judgeInotify(limit: number, files: number, dirs: number): CheckResult {
  const needed = dirs;
  const pct = Math.round((needed / limit) * 100);
  const what = `${needed} needed (one per directory: ${dirs} director${dirs === 1 ? 'y' : 'ies'} holding ${files} file${files === 1 ? '' : 's'}) of a limit of ${limit} (${pct}%)`;
  if (needed > limit * WARN_RATIO) {
    return warn(NAME, `${what}; the limit is shared with editors and other watchers, so the watcher may run out and fall back to polling`, SYSCTL_FIX);
  }
  return ok(NAME, what);
}

export async function checkInotify(git: Git, opts: { platform?: NodeJS.Platform; limitFile?: string; watchEnabled?: boolean } = {}): Promise<CheckResult> {
  if ((opts.platform ?? process.platform) !== 'linux') return ok(NAME, 'skipped (inotify is Linux only)');
  if (opts.watchEnabled === false) return ok(NAME, 'skipped (watch.enabled is false in config.json)');
  let limit: number;
  try {
    limit = Number((await fs.readFile(opts.limitFile ?? LIMIT_FILE, 'utf8')).trim());
  } catch (e) {
    return warn(NAME, `cannot read ${opts.limitFile ?? LIMIT_FILE}: ${(e as Error).message}`, null);
  }
  if (!Number.isFinite(limit) || limit <= 0) return warn(NAME, `unexpected limit in ${opts.limitFile ?? LIMIT_FILE}`, null);
  try {
    const [tracked, untracked] = await Promise.all([
      git.run(['ls-files', '-z'], { readOnly: true, timeoutMs: 30_000 }),
      git.run(['ls-files', '-z', '--others', '--exclude-standard'], { readOnly: true, timeoutMs: 30_000 }),
    ]);
    const all = new Set([...tracked.stdout.split('\0'), ...untracked.stdout.split('\0')]);
    const { files, dirs } = countWatchTargets(all);
    return judgeInotify(limit, files, dirs);
  } catch (e) {
    return warn(NAME, `cannot count the files of the work tree: ${(e as Error).message}`, null);
  }
}
