/**
 * The branch: on a branch (not detached), matching config "branch" when set, with an
 * upstream or a branch of the same name on the remote (otherwise the first sync
 * creates it there, which is fine once and worth knowing).
 */
import { currentBranch } from '../git/preflight.js';
import type { Git } from '../git/git.js';
import { fail, ok, warn, type CheckResult } from './types.js';
import { shellWord } from '../shared/shell-word.js';

const NAME = 'branch';

export interface BranchFacts {
  branch: string | null;
  configuredBranch: string | null;
  remote: string;
  /** `@{upstream}` as `origin/main`, or null. */
  upstream: string | null;
  /** Branch names the remote reported (null: the remote did not answer). */
  remoteHeads: string[] | null;
  /** A remote-tracking ref refs/remotes/<remote>/<branch> exists locally. */
  trackingRefExists: boolean;
}

export function judgeBranch(f: BranchFacts): CheckResult {
  if (!f.branch) return fail(NAME, 'HEAD is detached; syncs wait until a branch is checked out', 'git switch <branch>');
  const b = shellWord(f.branch);
  if (f.configuredBranch && f.configuredBranch !== f.branch) {
    return fail(
      NAME,
      `on branch "${f.branch}" but config "branch" is "${f.configuredBranch}"; syncs refuse to run`,
      `git switch ${shellWord(f.configuredBranch)}  (or change "branch" in config.json)`,
    );
  }
  const onRemote = f.remoteHeads ? f.remoteHeads.includes(f.branch) : f.trackingRefExists;
  if (f.upstream) {
    const note = f.remoteHeads && !onRemote ? `; "${f.branch}" does not exist on "${f.remote}" yet (the first sync pushes it)` : '';
    return ok(NAME, `"${f.branch}" tracks ${f.upstream}${note}`);
  }
  if (onRemote) return ok(NAME, `"${f.branch}" exists on "${f.remote}" (no upstream set; syncs push HEAD:refs/heads/${f.branch})`);
  return warn(
    NAME,
    `"${f.branch}" has no upstream and is not on "${f.remote}"${f.remoteHeads ? '' : ' (as far as the last fetch knows)'}; the first sync creates it there`,
    `git push -u ${shellWord(f.remote)} ${b}  (if this is the branch to sync)`,
  );
}

export async function branchFacts(git: Git, remote: string, configuredBranch: string | null, remoteHeads: string[] | null): Promise<BranchFacts> {
  const branch = await currentBranch(git);
  let upstream: string | null = null;
  let trackingRefExists = false;
  if (branch) {
    const up = await git.run(['rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}'], { readOnly: true, okCodes: [128], timeoutMs: 10_000 });
    upstream = up.code === 0 ? up.stdout.trim() || null : null;
    const tr = await git.run(['rev-parse', '--verify', '-q', `refs/remotes/${remote}/${branch}`], { readOnly: true, okCodes: [1], timeoutMs: 10_000 });
    trackingRefExists = tr.code === 0;
  }
  return { branch, configuredBranch, remote, upstream, remoteHeads, trackingRefExists };
}

export async function checkBranch(git: Git, remote: string, configuredBranch: string | null, remoteHeads: string[] | null): Promise<CheckResult> {
  return judgeBranch(await branchFacts(git, remote, configuredBranch, remoteHeads));
}
