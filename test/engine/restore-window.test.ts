/**
 * Invariant 4 during a restore (src/git/restore.ts): the `manual` policy undoes a sync
 * that met a conflict, and the user's editor saves files at the worst moment — right
 * after the restore saved its snapshot of the work tree and before it puts the branch
 * back. Before the fix the restore was `git rebase --abort` / `reset --hard` followed by a
 * write-back of the snapshot, so such saves were overwritten (by the abort, then by the
 * older snapshot), a file deleted then came back, and a file the abort removed was gone.
 *
 * The moment is made exact by a `reference-transaction` hook in the test repository: git
 * runs it inside the coordinator's own `update-ref` of the snapshot ref
 * (`refs/sync-coordinator/backup/<op>-worktree`), so the "saves" land after the snapshot
 * and before anything else, every run. The same hook also creates a new file while the
 * sync's rebase is about to start (at the sync's first backup ref), so that the snapshot
 * has something of the user's to save.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, cli, commitAll, setupDevice, testConfig } from './engine-helpers.js';

const notes = (who: string) => ['one', `two by ${who}`, 'three', ''].join('\n');

/** The hook: `case` arms keyed by ref pattern, each run once (a flag file in `flags`). */
function referenceTransactionHook(repo: string, flags: string, arms: Array<{ ref: string; run: string }>): void {
  const cases = arms.map((a, i) => `    ${a.ref}) [ -e '${flags}/arm-${i}' ] && continue; : > '${flags}/arm-${i}'\n${a.run}\n      ;;`).join('\n');
  const hook = join(repo, '.git', 'hooks', 'reference-transaction');
  writeFileSync(
    hook,
    `#!/bin/sh
[ "$1" = committed ] || exit 0
while read -r old new ref; do
  case "$ref" in
${cases}
  esac
done
exit 0
`,
  );
  chmodSync(hook, 0o755);
}

describe.each(['rebase', 'merge'] as const)('edits saved while the manual policy restores the work tree (%s)', (how) => {
  let sb: Sandbox;
  let a: string;
  let before: { head: string; index: string };
  let result: CliResult;
  const file = (p: string) => join(a, p);

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-restore-window-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA', { user_conflict_policy: 'manual' }));
    writeFileSync(file('notes.txt'), notes('base'));
    for (const p of ['stable.txt', 'theirs.txt', 'theirs-gone.txt']) writeFileSync(file(p), `${p} base\n`);
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');

    // Device b: conflicts with a on notes.txt, changes two more files, adds one.
    const b = sb.clone('b');
    writeFileSync(join(b, 'notes.txt'), notes('devB'));
    writeFileSync(join(b, 'theirs.txt'), 'theirs.txt by devB\n');
    writeFileSync(join(b, 'theirs-gone.txt'), 'theirs-gone.txt by devB\n');
    writeFileSync(join(b, 'from-b.txt'), 'from devB\n');
    commitAll(sb, b, 'b');
    sb.git(b, 'push', '-q', 'origin', 'main');

    if (how === 'merge') {
      // Local history with a merge commit: the sync merges instead of rebasing.
      sb.git(a, 'checkout', '-q', '-b', 'feature');
      writeFileSync(file('feature.txt'), 'feature work\n');
      commitAll(sb, a, 'feature work');
      sb.git(a, 'checkout', '-q', 'main');
      sb.git(a, 'merge', '-q', '--no-ff', '-m', 'merge feature', 'feature');
    }
    writeFileSync(file('notes.txt'), notes('devA'));
    before = { head: sb.git(a, 'rev-parse', 'HEAD').trim(), index: sb.git(a, 'ls-files', '-s', '-z') };
    referenceTransactionHook(a, sb.dir, [
      {
        ref: 'refs/sync-coordinator/backup/*-worktree',
        run: [
          `printf 'draft 2\\n' > '${file('draft.txt')}'`,
          `printf 'late stable\\n' > '${file('stable.txt')}'`,
          `printf 'late theirs\\n' > '${file('theirs.txt')}'`,
          `rm -f '${file('theirs-gone.txt')}'`,
          `printf 'late from-b\\n' > '${file('from-b.txt')}'`,
          // The conflicted file, which git wrote with markers, resolved by hand.
          `printf 'resolved by hand\\n' > '${file('notes.txt')}'`,
        ].join('\n'),
      },
      { ref: 'refs/sync-coordinator/backup/*', run: `printf 'draft 1\\n' > '${file('draft.txt')}'` },
    ]);
    result = await cli(sb, a, ['sync-now']);
  });
  afterAll(() => sb?.cleanup());

  it('the scenario ran as planned (conflict left for the user, snapshot taken with the first draft)', () => {
    expect(result.code, result.stderr).toBe(5);
    expect(sb.git(a, 'reflog', '--format=%gs').includes('rebase (start)')).toBe(how === 'rebase');
    const snapshot = sb.git(a, 'for-each-ref', '--format=%(refname)', 'refs/sync-coordinator/backup/').split('\n').find((r) => r.endsWith('-worktree'));
    expect(snapshot).toBeDefined();
    expect(sb.git(a, 'show', `${snapshot}:draft.txt`)).toBe('draft 1\n');
    expect(existsSync(join(sb.dir, 'arm-0'))).toBe(true);
  });

  it('keeps every save made after the snapshot: edits, the delete, the new file', () => {
    const text = (p: string) => readFileSync(file(p), 'utf8');
    expect(text('draft.txt')).toBe('draft 2\n'); // saved in the snapshot, then saved again
    expect(text('stable.txt')).toBe('late stable\n'); // clean, the restore does not change it
    expect(text('theirs.txt')).toBe('late theirs\n'); // clean, the restore changes it
    expect(existsSync(file('theirs-gone.txt'))).toBe(false); // the restore would bring it back
    expect(text('from-b.txt')).toBe('late from-b\n'); // the restore removes it
    expect(text('notes.txt')).toBe('resolved by hand\n'); // in conflict: git wrote it, then the user
  });

  it('HEAD, branch and index are as before the sync; the saves are plain work-tree changes', () => {
    expect(sb.git(a, 'rev-parse', 'HEAD').trim()).toBe(before.head);
    expect(sb.git(a, 'symbolic-ref', 'HEAD').trim()).toBe('refs/heads/main');
    expect(sb.git(a, 'ls-files', '-s', '-z')).toBe(before.index);
    expect(existsSync(join(a, '.git', 'rebase-merge'))).toBe(false);
    expect(existsSync(join(a, '.git', 'MERGE_HEAD'))).toBe(false);
    const status = sb.git(a, 'status', '--porcelain=v1', '--untracked-files=all').split('\n').filter(Boolean).sort();
    expect(status).toEqual([' D theirs-gone.txt', ' M notes.txt', ' M stable.txt', ' M theirs.txt', '?? draft.txt', '?? from-b.txt']);
    expect(sb.git(a, 'diff', '--check').includes('conflict marker')).toBe(false);
    assertNoMarkersInHistory(sb, a);
    assertNoMarkersInHistory(sb, sb.remote);
  });
});
