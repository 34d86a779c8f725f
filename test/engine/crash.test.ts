/**
 * kill -9 in the middle of a rebase the coordinator started. A fake `git` first on PATH
 * (the DESIGN says the first `git` on PATH is the one that runs) holds the rebase open:
 * it runs the real rebase with an `--exec` that blocks after the first replayed commit
 * (rebase directory present, HEAD detached), or blocks before the rebase starts. Then
 * the CLI and the blocked git are SIGKILLed, the user edits files while the sync lies
 * dead, and the next run must restore from the backup ref, keep those edits, and
 * complete the sync: nothing lost.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCli, waitFor } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, cli, commitAll, lsTree, blob, sh, setupDevice, statusJson, testConfig } from './engine-helpers.js';

type Mode = 'mid-rebase' | 'before-rebase';

function fakeGit(dir: string, mode: Mode, opts: { failAbort?: boolean } = {}): string {
  const bin = join(dir, 'fakebin');
  mkdirSync(bin, { recursive: true });
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  // Anything that is not the coordinator's first rebase goes to the real git unchanged.
  const hold = mode === 'mid-rebase' ? `exec "$real" "$@" --exec "touch '${dir}/ready'; exec sleep 600"` : `touch '${dir}/ready'; exec sleep 600`;
  const script = `#!/bin/sh
real='${real}'
rebase=; ctl=
abort=
for a in "$@"; do
  case "$a" in
    rebase) rebase=1 ;;
    --abort|--quit) ctl=1; abort=1 ;;
    --continue|--skip|--edit-todo|--show-current-patch) ctl=1 ;;
  esac
done
if [ -n "$rebase" ] && [ -n "$abort" ] && [ '${opts.failAbort ? 1 : 0}' = 1 ]; then
  echo 'fatal: simulated failure of rebase --abort' >&2
  exit 128
fi
if [ -n "$rebase" ] && [ -z "$ctl" ] && [ ! -e '${dir}/used' ]; then
  : > '${dir}/used'
  echo $$ > '${dir}/git.pid'
  ${hold}
fi
exec "$real" "$@"
`;
  writeFileSync(join(bin, 'git'), script);
  chmodSync(join(bin, 'git'), 0o755);
  return bin;
}

describe('kill -9 during a sync that is rebasing', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-engine-crash-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, 'a.txt'), 'base\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
    b = sb.clone('b');
    writeFileSync(join(b, 'b.txt'), 'from device b\n');
    commitAll(sb, b, 'b');
    sb.git(b, 'push', '-q', 'origin', 'main');
  });
  afterEach(() => sb?.cleanup());

  async function crashDuringRebase(mode: Mode): Promise<void> {
    writeFileSync(join(a, 'a.txt'), 'edit before the crash\n');
    writeFileSync(join(a, 'pre.txt'), 'new before the crash\n');
    const bin = fakeGit(sb.dir, mode);
    const child = startCli(['sync-now'], { cwd: a, env: { ...sb.env, PATH: `${bin}:${sb.env.PATH}` } });
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    await waitFor(() => existsSync(join(sb.dir, 'ready')), { timeoutMs: 30_000, what: 'the rebase to block' });
    if (mode === 'mid-rebase') {
      expect(existsSync(join(a, '.git', 'rebase-merge'))).toBe(true);
      expect(sh(sb, a, ['symbolic-ref', '-q', 'HEAD']).code).not.toBe(0); // detached
    }
    // kill -9 the CLI and the git it started (git runs in its own process group).
    child.kill('SIGKILL');
    const gitPid = Number(readFileSync(join(sb.dir, 'git.pid'), 'utf8'));
    try {
      process.kill(-gitPid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    await exited;
  }

  it('mid-rebase (rebase dir, detached HEAD): the next run restores, keeps edits made meanwhile, and completes', async () => {
    await crashDuringRebase('mid-rebase');
    expect((await statusJson(sb, a)).active).not.toBeNull();
    // The user keeps working while the sync lies dead.
    writeFileSync(join(a, 'a.txt'), 'edit after the crash\n');
    writeFileSync(join(a, 'later.txt'), 'new after the crash\n');

    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(a, '.git', 'rebase-merge'))).toBe(false);
    expect(sb.git(a, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
    expect((await statusJson(sb, a)).active).toBeNull();

    // Nothing lost: the remote has device b's file, the pre-crash commit, and the edits
    // made while the sync was dead.
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(sb.git(a, 'rev-parse', 'HEAD').trim());
    const tree = lsTree(sb, sb.remote, 'main');
    const text = (p: string) => blob(sb, sb.remote, tree.get(p)!).toString();
    expect(text('b.txt')).toBe('from device b\n');
    expect(text('pre.txt')).toBe('new before the crash\n');
    expect(text('a.txt')).toBe('edit after the crash\n');
    expect(text('later.txt')).toBe('new after the crash\n');
    // The pre-crash edit is in history too, and the work-tree snapshot was backed up.
    expect(sb.git(sb.remote, 'log', '-p', '--format=', 'main', '--', 'a.txt')).toContain('+edit before the crash');
    expect(sb.git(a, 'for-each-ref', '--format=%(refname)', 'refs/sync-coordinator/backup/')).toMatch(/-worktree/);
    assertNoMarkersInHistory(sb, a);
  });

  it('a kill between the sequencer writing CHERRY_PICK_HEAD and deleting it: recovery removes it, the sync completes', async () => {
    await crashDuringRebase('mid-rebase');
    // git's sequencer writes CHERRY_PICK_HEAD and MERGE_MSG for a pick that stops on a
    // conflict and deletes them again in the same process; a kill in that window (found
    // by the chaos suite) leaves them naming the local commit being replayed.
    const picked = sb.git(a, 'rev-parse', 'refs/heads/main').trim();
    writeFileSync(join(a, '.git', 'CHERRY_PICK_HEAD'), `${picked}\n`);
    writeFileSync(join(a, '.git', 'MERGE_MSG'), 'local commit message\n');

    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(a, '.git', 'CHERRY_PICK_HEAD'))).toBe(false);
    expect(existsSync(join(a, '.git', 'MERGE_MSG'))).toBe(false);
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(sb.git(a, 'rev-parse', 'HEAD').trim());
    expect(lsTree(sb, sb.remote, 'main').has('pre.txt')).toBe(true);
    // And the next sync is not refused as "a cherry-pick in progress".
    writeFileSync(join(a, 'next.txt'), 'next\n');
    const next = await cli(sb, a, ['sync-now']);
    expect(next.code, next.stderr).toBe(0);
  });

  it('a user\'s own cherry-pick (of a commit not in the restored history) is left alone: the sync refuses', async () => {
    await crashDuringRebase('mid-rebase');
    // A commit only on another branch, as a user's `git cherry-pick` would have named.
    const other = sb.git(a, 'commit-tree', '-m', 'elsewhere', sb.git(a, 'rev-parse', 'HEAD^{tree}').trim()).trim();
    writeFileSync(join(a, '.git', 'CHERRY_PICK_HEAD'), `${other}\n`);
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/cherry-pick/);
    expect(readFileSync(join(a, '.git', 'CHERRY_PICK_HEAD'), 'utf8').trim()).toBe(other);
  });

  it('SIGTERM while the rebase runs: the aborted op still cleans up (abort, restore), clears its marker, loses nothing', async () => {
    writeFileSync(join(a, 'a.txt'), 'edit before the signal\n');
    const bin = fakeGit(sb.dir, 'mid-rebase');
    const child = startCli(['sync-now'], { cwd: a, env: { ...sb.env, PATH: `${bin}:${sb.env.PATH}` } });
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await waitFor(() => existsSync(join(sb.dir, 'ready')), { timeoutMs: 30_000, what: 'the rebase to block' });
    const localCommit = sb.git(a, 'rev-parse', 'refs/heads/main').trim();
    child.kill('SIGTERM');
    expect(await exited).not.toBe(0);
    // The op's signal killed its git; cleanup ran anyway, with a client not bound to it.
    expect(existsSync(join(a, '.git', 'rebase-merge'))).toBe(false);
    expect(sb.git(a, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    expect(sb.git(a, 'rev-parse', 'HEAD').trim()).toBe(localCommit);
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
    expect(JSON.parse(readFileSync(join(a, '.claude', 'sync-coordination', 'coordinator-state.json'), 'utf8')).active).toBeNull();
    // The next sync completes.
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    const tree = lsTree(sb, sb.remote, 'main');
    expect(blob(sb, sb.remote, tree.get('a.txt')!).toString()).toBe('edit before the signal\n');
    expect(tree.has('b.txt')).toBe(true);
  });

  it('cleanup that cannot finish keeps the recovery marker; the next run recovers', async () => {
    writeFileSync(join(a, 'a.txt'), 'edit before the signal\n');
    const bin = fakeGit(sb.dir, 'mid-rebase', { failAbort: true });
    const child = startCli(['sync-now'], { cwd: a, env: { ...sb.env, PATH: `${bin}:${sb.env.PATH}` } });
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await waitFor(() => existsSync(join(sb.dir, 'ready')), { timeoutMs: 30_000, what: 'the rebase to block' });
    child.kill('SIGTERM');
    expect(await exited).not.toBe(0);
    expect(existsSync(join(a, '.git', 'rebase-merge'))).toBe(true);
    // (`status` shows `active` only while the lock is held; read the marker itself.)
    const state = JSON.parse(readFileSync(join(a, '.claude', 'sync-coordination', 'coordinator-state.json'), 'utf8'));
    expect(state.active.integrating).toBe('rebase');

    writeFileSync(join(a, 'later.txt'), 'new after the failed cleanup\n');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(a, '.git', 'rebase-merge'))).toBe(false);
    const tree = lsTree(sb, sb.remote, 'main');
    expect(blob(sb, sb.remote, tree.get('a.txt')!).toString()).toBe('edit before the signal\n');
    for (const f of ['b.txt', 'later.txt']) expect(tree.has(f), f).toBe(true);
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
  });

  it('before the rebase started (marker set, HEAD on the branch): the next run completes', async () => {
    await crashDuringRebase('before-rebase');
    expect(existsSync(join(a, '.git', 'rebase-merge'))).toBe(false);
    writeFileSync(join(a, 'later.txt'), 'new after the crash\n');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    const tree = lsTree(sb, sb.remote, 'main');
    for (const f of ['a.txt', 'b.txt', 'pre.txt', 'later.txt']) expect(tree.has(f), f).toBe(true);
    expect(blob(sb, sb.remote, tree.get('a.txt')!).toString()).toBe('edit before the crash\n');
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(sb.git(a, 'rev-parse', 'HEAD').trim());
  });
});
