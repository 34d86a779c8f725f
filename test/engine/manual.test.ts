/**
 * `user_conflict_policy: "manual"`: a conflicting sync exits 5 and leaves the work tree
 * exactly as before (files byte for byte, index, HEAD, untracked files), records the
 * conflict, pauses automatic syncs, and resumes them after `conflicts --resolve`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, cli, commitAll, sh, setupDevice, testConfig, worktreeSnapshot } from './engine-helpers.js';

const notes = (who: string) => ['one', `two by ${who}`, 'three', ''].join('\n');

describe('manual conflict policy', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-manual-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA', { user_conflict_policy: 'manual' }));
    writeFileSync(join(a, 'notes.txt'), notes('base'));
    writeFileSync(join(a, 'doomed.txt'), 'original\n');
    writeFileSync(join(a, 'image.bin'), Buffer.from([0, 1, 2, 3]));
    writeFileSync(join(a, 'keep.txt'), 'base\n');
    writeFileSync(join(a, 'gone.txt'), 'to be deleted locally\n');
    writeFileSync(join(a, '.claude', 'settings.json'), '{"v":"base"}\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
    b = sb.clone('b');
    await setupDevice(sb, b, testConfig('devB'));
  });
  afterAll(() => sb?.cleanup());

  it('exits 5, restores the work tree exactly, pauses, and resumes after --resolve', async () => {
    // Device B changes everything and syncs first.
    writeFileSync(join(b, 'notes.txt'), notes('devB'));
    writeFileSync(join(b, 'image.bin'), Buffer.from([0, 9, 9, 9]));
    writeFileSync(join(b, '.claude', 'settings.json'), '{"v":"devB"}\n');
    rmSync(join(b, 'doomed.txt'));
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    const remoteTip = sb.git(sb.remote, 'rev-parse', 'main').trim();

    // Device A: conflicting edits plus every kind of pre-sync state.
    writeFileSync(join(a, 'notes.txt'), notes('devA'));
    writeFileSync(join(a, 'image.bin'), Buffer.from([0, 7, 7, 7]));
    writeFileSync(join(a, '.claude', 'settings.json'), '{"v":"devA"}\n');
    writeFileSync(join(a, 'doomed.txt'), 'modified by devA\n');
    writeFileSync(join(a, 'draft.txt'), 'untracked draft\n');
    rmSync(join(a, 'gone.txt'));
    writeFileSync(join(a, 'keep.txt'), 'staged\n');
    sb.git(a, 'add', 'keep.txt');
    writeFileSync(join(a, 'keep.txt'), 'staged\nand unstaged\n');

    const before = {
      files: worktreeSnapshot(a),
      index: sb.git(a, 'ls-files', '-s', '-z'),
      status: sb.git(a, 'status', '--porcelain=v1', '-z', '--untracked-files=all'),
      head: sb.git(a, 'rev-parse', 'HEAD').trim(),
      branch: sb.git(a, 'symbolic-ref', 'HEAD').trim(),
    };

    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/manual/);
    expect(r.stderr).toMatch(/conflicts --resolve/);

    // Exactly as before: every file byte for byte, the index, HEAD and the branch.
    expect(worktreeSnapshot(a)).toEqual(before.files);
    expect(sb.git(a, 'ls-files', '-s', '-z')).toBe(before.index);
    expect(sb.git(a, 'status', '--porcelain=v1', '-z', '--untracked-files=all')).toBe(before.status);
    expect(sb.git(a, 'rev-parse', 'HEAD').trim()).toBe(before.head);
    expect(sb.git(a, 'symbolic-ref', 'HEAD').trim()).toBe(before.branch);
    // Nothing reached the remote; a backup of the undone sync commit exists.
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(remoteTip);
    expect(sb.git(a, 'for-each-ref', 'refs/sync-coordinator/backup/')).not.toBe('');

    // The conflict is recorded (user files only; the system file follows its own rule).
    const open = JSON.parse((await cli(sb, a, ['conflicts', '--json'])).stdout).open as Array<{ path: string; outcome: string; policy: string }>;
    expect(open.map((c) => c.path).sort()).toEqual(['doomed.txt', 'image.bin', 'notes.txt']);
    expect(open.every((c) => c.outcome === 'left-for-user' && c.policy === 'manual')).toBe(true);

    // Automatic syncs are paused (exit 5) and still change nothing.
    const auto = await cli(sb, a, ['request-sync', 'smart', 'test-script', '--wait', '--json']);
    expect(auto.code, auto.stderr + auto.stdout).toBe(5);
    expect(auto.stdout + auto.stderr).toMatch(/paused/);
    expect(worktreeSnapshot(a)).toEqual(before.files);
    expect(sb.git(a, 'rev-parse', 'HEAD').trim()).toBe(before.head);

    // The user merges by hand...
    sb.git(a, 'add', '-A');
    sb.git(a, 'commit', '-q', '-m', 'my work');
    sb.git(a, 'fetch', '-q', 'origin');
    expect(sh(sb, a, ['merge', '--no-edit', 'origin/main']).code).not.toBe(0);
    writeFileSync(join(a, 'notes.txt'), ['one', 'two by devA and devB', 'three', ''].join('\n'));
    sb.git(a, 'checkout', '--theirs', '--', 'image.bin');
    sb.git(a, 'checkout', '--ours', '--', '.claude/settings.json');
    sb.git(a, 'add', '-A');
    sb.git(a, 'commit', '-q', '--no-edit');
    // ...marks the files resolved; the last one resumes automatic syncs.
    for (const p of ['doomed.txt', 'image.bin']) expect((await cli(sb, a, ['conflicts', '--resolve', p])).code).toBe(0);
    const last = await cli(sb, a, ['conflicts', '--resolve', 'notes.txt', '--json']);
    expect(JSON.parse(last.stdout)).toEqual({ resolved: 'notes.txt', resumed: true });

    const resumed = await cli(sb, a, ['request-sync', 'smart', 'test-script', '--wait', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).result).toBe('ok');
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(sb.git(a, 'rev-parse', 'HEAD').trim());
    assertNoMarkersInHistory(sb, a);
    assertNoMarkersInHistory(sb, sb.remote);
  });
});
