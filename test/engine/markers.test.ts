/**
 * Invariant 4's marker gate against real git: it refuses unmerged paths and staged
 * conflict markers in a file that was in conflict, and lets through markers the user
 * typed before the sync (their content, taken verbatim from one side).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGit } from '../../src/git/git.js';
import { assertCommittable, assertHeadClean, track, type ConflictTracker } from '../../src/git/markers.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { blob, cli, commitAll, conflictLog, lsTree, setupDevice, sh, testConfig } from './engine-helpers.js';

const TYPED = ['# How to read a conflict', '<<<<<<< HEAD', 'your side', '=======', 'their side', '>>>>>>> branch', ''].join('\n');

describe('conflict-marker gate', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('sc-engine-markers-');
  });
  afterAll(() => sb?.cleanup());

  it('refuses staged markers in a conflicted file unless the blob is a verbatim side', async () => {
    const r = sb.clone('r');
    const git = createGit(r, null).withOp('20260101-000000-aaaaaa');
    writeFileSync(join(r, 'f.txt'), 'clean\n');
    sb.git(r, 'add', 'f.txt');
    const cleanSha = sb.git(r, 'rev-parse', ':f.txt').trim();
    const tracker: ConflictTracker = new Map();
    track(tracker, 'f.txt', cleanSha);
    await expect(assertCommittable(git, tracker, 'commit')).resolves.toBeUndefined();

    // What `git add -A` after a conflict would stage: markers git wrote.
    writeFileSync(join(r, 'f.txt'), 'a\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> abc (x)\n');
    sb.git(r, 'add', 'f.txt');
    await expect(assertCommittable(git, tracker, 'commit')).rejects.toMatchObject({ code: 'EMARKER' });

    // The same bytes are fine when they are one side's content, verbatim.
    track(tracker, 'f.txt', sb.git(r, 'rev-parse', ':f.txt').trim());
    await expect(assertCommittable(git, tracker, 'commit')).resolves.toBeUndefined();
    // A file that was not in conflict in this sync is the user's business.
    await expect(assertCommittable(git, new Map([['other.txt', new Set<string>()]]), 'commit')).resolves.toBeUndefined();

    // The HEAD gate: a committed marker line that no side had is refused before push.
    sb.git(r, 'commit', '-q', '-m', 'x');
    await expect(assertHeadClean(git, new Map([['f.txt', new Set([cleanSha])]]))).rejects.toMatchObject({ code: 'EMARKER' });
  });

  it('refuses while paths are unmerged', async () => {
    const r = sb.clone('u');
    writeFileSync(join(r, 'u.txt'), 'base\n');
    commitAll(sb, r, 'base');
    sb.git(r, 'checkout', '-q', '-b', 'side');
    writeFileSync(join(r, 'u.txt'), 'side\n');
    commitAll(sb, r, 'side');
    sb.git(r, 'checkout', '-q', 'main');
    writeFileSync(join(r, 'u.txt'), 'main\n');
    commitAll(sb, r, 'main');
    expect(sh(sb, r, ['merge', 'side']).code).not.toBe(0);
    const git = createGit(r, null).withOp('20260101-000000-bbbbbb');
    await expect(assertCommittable(git, new Map(), 'continue')).rejects.toMatchObject({ code: 'EUNMERGED' });
  });

  it('markers a user typed before the sync are content: the conflicting file syncs', async () => {
    const a = sb.clone('a');
    const b = sb.clone('b');
    await setupDevice(sb, a, testConfig('devA'));
    await setupDevice(sb, b, testConfig('devB'));
    writeFileSync(join(a, 'guide.md'), 'draft\n');
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    expect((await cli(sb, b, ['sync-now'])).code).toBe(0);
    writeFileSync(join(a, 'guide.md'), 'remote rewrite\n');
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    writeFileSync(join(b, 'guide.md'), TYPED);
    const r = await cli(sb, b, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    const tree = lsTree(sb, sb.remote, 'main');
    const rec = conflictLog(b).find((l) => l.path === 'guide.md')!;
    expect(blob(sb, sb.remote, tree.get('guide.md')!).toString()).toBe('remote rewrite\n');
    expect(blob(sb, sb.remote, tree.get(rec.copy_path!)!).toString()).toBe(TYPED);
  });
});
