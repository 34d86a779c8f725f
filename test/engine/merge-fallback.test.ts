/**
 * Where a rebase cannot apply (local history with a merge commit, which a rebase would
 * flatten) the remote is merged instead; conflicts get the same policy (in a merge
 * "ours" is the local side), the user's merge commit survives, no marker is committed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, blob, cli, commitAll, conflictLog, lsTree, setupDevice, testConfig } from './engine-helpers.js';

describe('merge fallback', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-merge-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo\nthree\n');
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
    b = sb.clone('b');
  });
  afterAll(() => sb?.cleanup());

  it('merges (not rebases) local history that contains a merge commit, resolving conflicts by the policy', async () => {
    writeFileSync(join(b, 'notes.txt'), 'one\ntwo by b\nthree\n');
    commitAll(sb, b, 'b');
    sb.git(b, 'push', '-q', 'origin', 'main');

    sb.git(a, 'checkout', '-q', '-b', 'feature');
    writeFileSync(join(a, 'notes.txt'), 'one\ntwo by a\nthree\n');
    commitAll(sb, a, 'feature work');
    sb.git(a, 'checkout', '-q', 'main');
    writeFileSync(join(a, 'other.txt'), 'main work\n');
    commitAll(sb, a, 'main work');
    sb.git(a, 'merge', '-q', '--no-ff', '-m', 'merge feature', 'feature');
    const userMerge = sb.git(a, 'rev-parse', 'HEAD').trim();
    writeFileSync(join(a, 'uncommitted.txt'), 'pending\n');

    const r = await cli(sb, a, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    const head = sb.git(a, 'rev-parse', 'HEAD').trim();
    expect(sb.git(sb.remote, 'rev-parse', 'main').trim()).toBe(head);
    // A merge commit of ours on top; the user's merge is still in history, unflattened.
    expect(sb.git(a, 'rev-list', '--parents', '-n', '1', 'HEAD').trim().split(' ')).toHaveLength(3);
    expect(sb.git(a, 'log', '-1', '--format=%B')).toMatch(/Sync-Op: \d{8}-\d{6}-[0-9a-f]{6}/);
    expect(sb.git(a, 'merge-base', '--is-ancestor', userMerge, 'HEAD')).toBe('');
    // Remote's version at the path, ours in the copy.
    const tree = lsTree(sb, sb.remote, 'main');
    expect(blob(sb, sb.remote, tree.get('notes.txt')!).toString()).toBe('one\ntwo by b\nthree\n');
    const rec = conflictLog(a).find((l) => l.path === 'notes.txt')!;
    expect(rec.outcome).toBe('copy-created');
    expect(blob(sb, sb.remote, tree.get(rec.copy_path!)!).toString()).toBe('one\ntwo by a\nthree\n');
    for (const f of ['other.txt', 'uncommitted.txt']) expect(tree.has(f), f).toBe(true);
    expect(sb.git(a, 'status', '--porcelain')).toBe('');
    assertNoMarkersInHistory(sb, a);
  });
});
