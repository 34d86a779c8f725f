/**
 * Following the remote's history (invariant 15) and keeping remote content data
 * (invariant 14): another device's force push is followed and reported, with what it
 * removed kept in a backup ref; a deleted remote branch is not re-created silently; a
 * remote tree that tracks files under the state directory never changes this device's
 * state files. And the manual policy's advice works when pasted.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { blob, cli, commitAll, lsTree, setupDevice, STATE_DIR, testConfig } from './engine-helpers.js';

describe("the remote's history and content", () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeEach(async () => {
    sb = makeSandbox('sc-engine-remote-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, 'base.txt'), 'base\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
    b = sb.clone('b');
    await setupDevice(sb, b, testConfig('devB'));
  });
  afterEach(() => sb?.cleanup());

  it("another device's force push is followed, reported, and the commits it removed are kept in a backup ref", async () => {
    writeFileSync(join(a, 'dropped.txt'), 'pushed, then force-pushed away by b\n');
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    const dropped = sb.git(a, 'rev-parse', 'HEAD').trim();
    // Device b rewrites the remote branch without a's commit.
    writeFileSync(join(b, 'b.txt'), 'b\n');
    commitAll(sb, b, 'b rewrites history');
    sb.git(b, 'push', '-q', '--force', 'origin', 'main');
    const rewritten = sb.git(sb.remote, 'rev-parse', 'main').trim();
    // a saves something new and syncs.
    writeFileSync(join(a, 'after.txt'), 'after the rewrite\n');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    const tip = sb.git(sb.remote, 'rev-parse', 'main').trim();
    // Followed: the remote was not forced back; a's new work is on top of b's rewrite.
    expect(sb.git(sb.remote, 'merge-base', '--is-ancestor', rewritten, tip)).toBe('');
    const tree = lsTree(sb, sb.remote, 'main');
    expect(tree.has('after.txt')).toBe(true);
    expect(tree.has('b.txt')).toBe(true);
    expect(tree.has('dropped.txt')).toBe(false);
    // Reported, and the removed commit kept locally.
    const status = JSON.parse((await cli(sb, a, ['status', '--json'])).stdout);
    expect(status.remote_rewrite).toMatchObject({ old: dropped, new: rewritten });
    expect((await cli(sb, a, ['status'])).stdout).toMatch(/REWRITTEN: .*another device force-pushed the branch/);
    const backups = sb.git(a, 'for-each-ref', '--format=%(objectname)', 'refs/sync-coordinator/backup/').split('\n');
    expect(backups).toContain(dropped);
    expect(readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8')).toMatch(/rewritten by another device \(force push\)/);
  });

  it('a remote branch deleted by another device is not re-created silently', async () => {
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    sb.git(sb.remote, 'config', 'receive.denyDeleteCurrent', 'ignore');
    sb.git(b, 'push', '-q', 'origin', '--delete', 'main');
    // Nothing to commit: the sync fetches, finds the branch gone, and refuses.
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no longer exists on remote "origin".*git push -u origin main/);
    expect(sb.git(sb.remote, 'for-each-ref', 'refs/heads/')).toBe('');
    // With a new commit the sync pushes first (no fetch): if that creates the branch
    // again, it says so, with the command that deletes it again.
    writeFileSync(join(a, 'x.txt'), 'x\n');
    const again = await cli(sb, a, ['sync-now']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toMatch(/did not exist on remote "origin" any more .* git push origin --delete main/);
    expect(readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8')).toMatch(/the remote branch had been deleted; the push created it again/);
  });

  it("a remote tree that tracks files under the state directory never changes this device's state files", async () => {
    const mine = readFileSync(join(a, STATE_DIR, 'config.json'));
    // Device b commits its coordinator files (forced past the exclude) and pushes.
    writeFileSync(join(b, STATE_DIR, 'config.json'), '{"device_name":"evil"}\n');
    writeFileSync(join(b, STATE_DIR, 'evil.sh'), '#!/bin/sh\necho owned\n');
    sb.git(b, 'add', '-f', `${STATE_DIR}/config.json`, `${STATE_DIR}/evil.sh`);
    sb.git(b, 'commit', '-q', '-m', 'track coordinator state');
    sb.git(b, 'push', '-q', 'origin', 'main');
    writeFileSync(join(a, 'mine.txt'), 'mine\n');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(a, STATE_DIR, 'config.json')).equals(mine)).toBe(true);
    expect(spawnSync('test', ['-e', join(a, STATE_DIR, 'evil.sh')]).status).not.toBe(0);
    expect(sb.git(a, 'ls-files', STATE_DIR)).toBe('');
    // The sync took them out of the synced tree (cleaning the repository) and says so.
    const tree = lsTree(sb, sb.remote, 'main');
    expect([...tree.keys()].filter((p) => p.startsWith(STATE_DIR))).toEqual([]);
    expect(blob(sb, sb.remote, tree.get('mine.txt')!).toString()).toBe('mine\n');
    expect(readFileSync(join(a, STATE_DIR, 'coordinator.log'), 'utf8')).toMatch(/the remote tracks 2 path\(s\) under \.claude\/sync-coordination\//);
    expect(JSON.parse((await cli(sb, a, ['status', '--json'])).stdout).untracked_state).toMatchObject({ count: 2 });
  });

  it('manual policy: the commands the conflict message suggests work when pasted, in order', async () => {
    writeFileSync(join(a, STATE_DIR, 'config.json'), JSON.stringify(testConfig('devA', { user_conflict_policy: 'manual' })));
    writeFileSync(join(b, 'base.txt'), 'from b\n');
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    writeFileSync(join(a, 'base.txt'), 'from a\n');
    const r = await cli(sb, a, ['sync-now']);
    expect(r.code).toBe(5);
    const steps = [...r.stderr.matchAll(/\(\d\) ([^;]+?)(?=; \(\d\)|\. "sync-now")/g)].map((m) => m[1]!.trim());
    expect(steps).toEqual([
      'git add -A',
      'git commit -m "my changes"',
      'git pull --rebase origin main',
      'edit the conflicted files, then: git add <file> and git rebase --continue',
      'sync-now',
    ]);
    const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { cwd: a, env: sb.env, encoding: 'utf8' });
    for (const step of steps.slice(0, 2)) {
      const res = sh(step);
      expect(res.status, `${step}: ${res.stdout}${res.stderr}`).toBe(0);
    }
    const pull = sh(steps[2]!);
    expect(pull.stdout + pull.stderr).toMatch(/CONFLICT/); // stops for the hand merge, as it should
    writeFileSync(join(a, 'base.txt'), 'from a and b\n');
    expect(sh('git add base.txt && GIT_EDITOR=true git rebase --continue').status).toBe(0);
    const last = await cli(sb, a, ['sync-now']);
    expect(last.code, last.stderr).toBe(0);
    expect(blob(sb, sb.remote, lsTree(sb, sb.remote, 'main').get('base.txt')!).toString()).toBe('from a and b\n');
    expect(JSON.parse((await cli(sb, a, ['status', '--json'])).stdout).conflicts.open).toBe(0);
  });
});
