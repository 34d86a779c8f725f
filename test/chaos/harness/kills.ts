/**
 * Kills timed to a moment of the sync engine (src/git/pipeline.ts, move.ts, replay.ts):
 * wait until a process holds the clone's workspace lock while one of its git children
 * runs a given subcommand, or while it holds git's own `.git/index.lock` to move the
 * user's branch, index and files (move.ts), so a SIGKILL lands inside that moment rather
 * than only at random times.
 *
 * Targets:
 * - a git step of the sync: `add` and `commit-tree` (the commit from a private index),
 *   `fetch`, `read-tree` and `merge-file` (the three-way merge in a private index, or
 *   the move), `update-ref` (a backup ref, or the compare-and-swap of the move), `push`;
 * - `move`: the node process while it holds `.git/index.lock` (no git needed);
 *   `move:read-tree`: ... while its two-way `read-tree -m -u` writes the user's files;
 *   `move:update-ref`: ... while the branch moves (a node-only kill there leaves the
 *   branch moved and the user's index behind it: recovery completes the index).
 *
 * Modes: `node` kills the coordinator (its git lives on as an orphan and finishes),
 * `node+git` kills both (git's own lock files stay behind), `git` kills only the git
 * child (the coordinator sees a git killed by a signal, cleans its lock files and
 * retries, as after the SIGBUS of issue 10).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { subcommand } from './checks.js';
import { gitProcessesIn } from './procs.js';
import type { Clone } from './world.js';

export const TARGET_STEPS = [
  'commit-tree',
  'add',
  'fetch',
  'read-tree',
  'merge-file',
  'update-ref',
  'push',
  'move',
  'move',
  'move:read-tree',
  'move:update-ref',
  'move:update-ref',
] as const;
export type Target = (typeof TARGET_STEPS)[number];
export type KillMode = 'node' | 'node+git' | 'git';

/** The kill modes that make sense at a target (a node-only moment has no git to kill). */
export function modesFor(target: Target): KillMode[] {
  if (target === 'move') return ['node'];
  if (target === 'move:update-ref') return ['node', 'node', 'node+git'];
  return ['node', 'node+git', 'git'];
}

/** The subcommand of a live git's argv (`git ...` or our recorder `sh .../git ...`). */
function liveSubcommand(argv: string[]): string {
  const i = argv.findIndex((a) => a === 'git' || a.endsWith('/git'));
  return i < 0 ? '' : subcommand(argv.slice(i + 1).join(' '));
}

export function lockOwnerPid(clone: Clone): number | null {
  try {
    return Number(JSON.parse(readFileSync(join(clone.state, 'lock-owner.json'), 'utf8')).pid) || null;
  } catch {
    return null;
  }
}

/**
 * Resolves with the pids of the git processes running the target's step (empty for
 * `move`) once `pid` holds the clone's lock at that moment (polled every 2 ms until
 * `until()` says stop), or null. The caller then kills.
 */
export async function whenRunning(clone: Clone, pid: number, target: Target, until: () => boolean): Promise<number[] | null> {
  const indexLock = join(clone.repo, '.git', 'index.lock');
  const [phase, sub] = target.startsWith('move') ? ['move', target.split(':')[1] ?? null] : ['git', target];
  while (!until()) {
    if (lockOwnerPid(clone) === pid) {
      if (phase === 'move') {
        if (existsSync(indexLock)) {
          if (sub === null) return [];
          const gits = gitProcessesIn(clone.repo).filter((g) => liveSubcommand(g.argv) === sub);
          if (gits.length && existsSync(indexLock)) return gits.map((g) => g.pid);
        }
      } else {
        const gits = gitProcessesIn(clone.repo).filter((g) => liveSubcommand(g.argv) === sub);
        if (gits.length) return gits.map((g) => g.pid);
      }
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  return null;
}
