/**
 * Tracked state (invariant 14): git must track nothing under the state directory. When it
 * does, a commit from another device put it there; the coordinator refuses to sync until
 * the repository is cleaned.
 */
import { CLEAN_COMMAND, trackedStatePaths } from '../core/tracked-state.js';
import type { Git } from '../git/git.js';
import { fail, ok, type CheckResult } from './types.js';

const NAME = 'tracked state';

export async function checkTrackedState(ws: { gitDir: string; git: Git }): Promise<CheckResult> {
  const paths = await trackedStatePaths(ws);
  if (paths.length === 0) return ok(NAME, 'git tracks no file of the state directory');
  const shown = paths.slice(0, 5).join(', ') + (paths.length > 5 ? ` and ${paths.length - 5} more` : '');
  return fail(
    NAME,
    `git tracks ${paths.length} file(s) of the state directory (${shown}); syncs refuse to run until they are untracked`,
    `${CLEAN_COMMAND} (the files stay on disk; check config.json, which may hold another device's settings)`,
  );
}
