/**
 * Kills timed to a git step: wait until a process holds the clone's workspace lock while
 * one of its git children runs a given subcommand, so a SIGKILL lands inside a rebase,
 * a push, a recovery's abort, ... rather than only at random moments.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { subcommand } from './checks.js';
import { gitCommandsIn } from './procs.js';
import type { Clone } from './world.js';

/** Git subcommands whose interruption leaves the most to recover. */
export const TARGET_STEPS = ['rebase', 'rebase', 'rebase', 'push', 'push', 'commit', 'fetch', 'merge', 'read-tree', 'checkout-index', 'update-ref'] as const;

/** The subcommand of a live git's argv (`git ...` or our recorder `sh .../git ...`). */
function liveSubcommand(argv: string[]): string {
  const i = argv.findIndex((a) => a === 'git' || a.endsWith('/git'));
  return i < 0 ? '' : subcommand(argv.slice(i + 1).join(' '));
}

function lockOwnerPid(clone: Clone): number | null {
  try {
    return Number(JSON.parse(readFileSync(join(clone.state, 'lock-owner.json'), 'utf8')).pid) || null;
  } catch {
    return null;
  }
}

/**
 * Resolves true once `pid` holds the clone's lock while one of its git children runs
 * `step` (polled every few ms until `until()` says stop). The caller then kills it.
 */
export async function whenRunning(clone: Clone, pid: number, step: string, until: () => boolean): Promise<boolean> {
  while (!until()) {
    if (lockOwnerPid(clone) === pid && gitCommandsIn(clone.repo).some((argv) => liveSubcommand(argv) === step)) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

