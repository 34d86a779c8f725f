/**
 * Git lock files with no git running (a git killed by a signal leaves them): every later
 * git that needs the lock fails with "another git process seems to be running". A sync
 * removes those its own killed git left; one left by another tool is the user's to
 * remove, once they know no git runs.
 */
import { relative } from 'node:path';
import { leftoverGitLocks } from '../git/git-lock-files.js';
import type { Workspace } from '../git/workspace.js';
import { ok, warn, type CheckResult } from './types.js';

const NAME = 'git lock files';

export async function checkGitLocks(ws: Workspace): Promise<CheckResult> {
  const files = await leftoverGitLocks(ws);
  if (files.length === 0) return ok(NAME, 'none left behind');
  const shown = files.map((f) => relative(ws.root, f) || f);
  return warn(
    NAME,
    `${shown.join(', ')} exist${files.length === 1 ? 's' : ''} but no git process runs in this repository: a killed git left ${files.length === 1 ? 'it' : 'them'}, and git (and every sync) refuses to work until ${files.length === 1 ? 'it is' : 'they are'} removed`,
    `make sure no git runs here, then: rm ${shown.map((s) => `'${s.replace(/'/g, `'\\''`)}'`).join(' ')}`,
  );
}
