/**
 * git version: >= 2.36 recommended (core.fsync, which every sync commit uses), warn
 * below it; fail below 2.20 (too old for the porcelain formats the coordinator reads).
 */
import { GitError } from '../git/git-error.js';
import type { Git } from '../git/git.js';
import { fail, ok, warn, type CheckResult } from './types.js';

const NAME = 'git version';
export const MIN_VERSION: readonly [number, number] = [2, 20];
export const RECOMMENDED_VERSION: readonly [number, number] = [2, 36];

/** `git version 2.39.5` (also `2.39.5.windows.1`, `2.39.5 (Apple Git-143)`) → [2, 39, 5]. */
export function parseGitVersion(text: string): [number, number, number] | null {
  const m = /git version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function below(v: readonly number[], min: readonly [number, number]): boolean {
  const [major = 0, minor = 0] = v;
  return major < min[0] || (major === min[0] && minor < min[1]);
}

export function judgeGitVersion(text: string): CheckResult {
  const v = parseGitVersion(text);
  const upgrade = 'upgrade git (https://git-scm.com/downloads, or your package manager)';
  if (!v) return warn(NAME, `cannot read the git version from ${JSON.stringify(text.trim().slice(0, 80))}`, upgrade);
  const shown = v.join('.');
  if (below(v, MIN_VERSION)) return fail(NAME, `git ${shown} is too old; sync-coordinator needs git >= ${MIN_VERSION.join('.')}`, upgrade);
  if (below(v, RECOMMENDED_VERSION)) {
    return warn(NAME, `git ${shown} works, but >= ${RECOMMENDED_VERSION.join('.')} is recommended (core.fsync makes commits survive a power loss)`, upgrade);
  }
  return ok(NAME, `git ${shown}`);
}

export async function checkGitVersion(git: Git): Promise<CheckResult> {
  try {
    const res = await git.run(['version'], { timeoutMs: 10_000 });
    return judgeGitVersion(res.stdout);
  } catch (e) {
    const why = e instanceof GitError && e.kind === 'spawn' ? 'git is not on PATH' : `git version failed: ${(e as Error).message}`;
    return fail(NAME, why, 'install git (https://git-scm.com/downloads) and make sure it is on PATH');
  }
}
