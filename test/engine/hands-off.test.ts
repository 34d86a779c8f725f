/**
 * Hands off the user's git (invariant 5): a user's own rebase stopped on a conflict, a
 * detached HEAD, and a merge the user starts while the sync reads the work tree. The
 * sync exits non-zero with a clear message and changes nothing: HEAD, the index, the
 * work tree and .git/rebase-merge stay byte-identical.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { spawnSync } from 'node:child_process';
import { realGitPath } from '../helpers/git-recorder.js';
import { cli, commitAll, dirSnapshot, sh, setupDevice, STATE_DIR, testConfig, worktreeSnapshot } from './engine-helpers.js';

/** The pid of a process that has exited. */
function deadPid(): number {
  return Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());
}

function repoSnapshot(sb: Sandbox, repo: string) {
  const rebaseDir = join(repo, '.git', 'rebase-merge');
  return {
    head: readFileSync(join(repo, '.git', 'HEAD'), 'utf8'),
    refs: sb.git(repo, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads', 'refs/remotes'),
    index: readFileSync(join(repo, '.git', 'index')).toString('base64'),
    files: worktreeSnapshot(repo),
    rebase: existsSync(rebaseDir) ? dirSnapshot(rebaseDir) : null,
  };
}

describe("hands off the user's git", () => {
  let sb: Sandbox;
  let a: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-engine-handsoff-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, 'f.txt'), 'base\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
  });
  afterEach(() => sb?.cleanup());

  it('a rebase the user started and that stopped on a conflict is left alone', async () => {
    const b = sb.clone('b');
    writeFileSync(join(b, 'f.txt'), 'from b\n');
    commitAll(sb, b, 'b');
    sb.git(b, 'push', '-q', 'origin', 'main');
    writeFileSync(join(a, 'f.txt'), 'from a\n');
    commitAll(sb, a, 'a');
    sb.git(a, 'fetch', '-q', 'origin');
    expect(sh(sb, a, ['rebase', 'origin/main']).code).not.toBe(0);
    expect(existsSync(join(a, '.git', 'rebase-merge'))).toBe(true);
    writeFileSync(join(a, 'unrelated.txt'), "an edit during the user's rebase\n");
    const before = repoSnapshot(sb, a);
    const remoteTip = sb.git(sb.remote, 'rev-parse', 'main');

    for (const args of [['sync-now'], ['request-sync', 'smart', 'test', '--wait']]) {
      const r = await cli(sb, a, args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(/a rebase is in progress in this repository; finish or abort it/);
      expect(repoSnapshot(sb, a)).toEqual(before);
    }
    expect(sb.git(sb.remote, 'rev-parse', 'main')).toBe(remoteTip);

    // Even with a stale recovery marker of ours (a sync killed earlier), a rebase whose
    // orig-head is not our backup is the user's: recovery clears the marker, touches nothing.
    const stateFile = join(a, STATE_DIR, 'coordinator-state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    sb.git(a, 'update-ref', 'refs/sync-coordinator/backup/20260101-000000-abcdef', 'origin/main');
    state.active = {
      op: '20260101-000000-abcdef',
      type: 'smart',
      step: 'integrate',
      started_at: new Date().toISOString(),
      pid: deadPid(),
      start_time: null,
      branch: 'main',
      backup_ref: 'refs/sync-coordinator/backup/20260101-000000-abcdef',
      integrating: 'rebase',
      request_ids: [],
    };
    writeFileSync(stateFile, JSON.stringify(state));
    const withMarker = repoSnapshot(sb, a);
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a rebase is in progress/);
    expect(repoSnapshot(sb, a)).toEqual(withMarker);
    expect(JSON.parse(readFileSync(stateFile, 'utf8')).active).toBeNull();
  });

  it('a detached HEAD is left alone', async () => {
    sb.git(a, 'checkout', '-q', '--detach', 'HEAD');
    writeFileSync(join(a, 'f.txt'), 'edited on a detached HEAD\n');
    writeFileSync(join(a, 'new.txt'), 'untracked\n');
    const before = repoSnapshot(sb, a);
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HEAD is detached; check out a branch/);
    expect(repoSnapshot(sb, a)).toEqual(before);
    expect(sb.git(a, 'status', '--porcelain')).toMatch(/f\.txt/);
  });

  it('unmerged paths without any operation in progress (a conflicted stash pop) are left alone', async () => {
    writeFileSync(join(a, 'f.txt'), 'stashed edit\n');
    sb.git(a, 'stash', '-q');
    writeFileSync(join(a, 'f.txt'), 'committed edit\n');
    commitAll(sb, a, 'edit');
    expect(sh(sb, a, ['stash', 'pop']).code).not.toBe(0);
    expect(existsSync(join(a, '.git', 'MERGE_HEAD'))).toBe(false);
    expect(sb.git(a, 'ls-files', '-u')).toMatch(/f\.txt/);
    const before = repoSnapshot(sb, a);
    const remoteTip = sb.git(sb.remote, 'rev-parse', 'main');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 path\(s\) are unmerged; resolve them/);
    // Nothing staged or committed: the markers stay the user's to resolve.
    expect(repoSnapshot(sb, a)).toEqual(before);
    expect(sb.git(sb.remote, 'rev-parse', 'main')).toBe(remoteTip);
  });

  it('a merge the user starts while preflight reads the work tree stops the sync before it stages anything', async () => {
    // The user's branch and main both change f.txt: their merge stops on a conflict.
    sb.git(a, 'checkout', '-q', '-b', 'topic');
    writeFileSync(join(a, 'f.txt'), 'from topic\n');
    commitAll(sb, a, 'topic');
    sb.git(a, 'checkout', '-q', 'main');
    writeFileSync(join(a, 'f.txt'), 'from main\n');
    commitAll(sb, a, 'main edit');
    writeFileSync(join(a, 'new.txt'), 'a change for the sync to commit\n');
    // The git first on PATH runs the user's `git merge topic` right after the sync's
    // status, while the sync still holds that status's output: the merge lands inside
    // preflight, after the work tree was read.
    const bin = join(sb.dir, 'merging-git');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'git'),
      `#!/bin/sh
'${realGitPath()}' "$@"
rc=$?
case " $* " in *" status "*)
  if [ ! -e '${sb.dir}/merged' ]; then
    : > '${sb.dir}/merged'
    (unset CLAUDE_SYNC_ACTIVE AUTOMATED_SYNC SYNC_COORDINATOR_OP; cd '${a}' && '${realGitPath()}' merge -q --no-edit topic >/dev/null 2>&1)
  fi ;;
esac
exit $rc
`,
    );
    chmodSync(join(bin, 'git'), 0o755);
    const head = sb.git(a, 'rev-parse', 'HEAD');
    const remoteTip = sb.git(sb.remote, 'rev-parse', 'main');
    const r = await cli(sb, a, ['sync-now'], { ...sb.env, PATH: `${bin}:${sb.env.PATH}` });
    expect(existsSync(join(sb.dir, 'merged')), 'the merge ran').toBe(true);
    expect(existsSync(join(a, '.git', 'MERGE_HEAD'))).toBe(true);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a merge is in progress in this repository; finish or abort it/);
    // Nothing staged or committed: the conflict is still the user's, markers and all.
    expect(sb.git(a, 'rev-parse', 'HEAD')).toBe(head);
    expect(sb.git(a, 'ls-files', '-u')).toMatch(/f\.txt/);
    expect(sb.git(a, 'status', '--porcelain')).toMatch(/^\?\? new\.txt$/m);
    expect(readFileSync(join(a, 'f.txt'), 'utf8')).toMatch(/^<<<<<<< /m);
    expect(sb.git(sb.remote, 'rev-parse', 'main')).toBe(remoteTip);
  });
});
