/**
 * Rename conflicts: both devices rename one file differently (rename/rename), one
 * renames and changes a file the other deleted (rename/delete), one renames a file the
 * other changed (rename/modify). Nothing is lost, no marker is committed, and the log
 * records the rename conflicts.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, blob, cli, commitAll, conflictLog, lsTree, setupDevice, testConfig } from './engine-helpers.js';

const body = (name: string, extra = '') => `${Array.from({ length: 12 }, (_, i) => `${name} line ${i}`).join('\n')}\n${extra}`;

describe('rename conflicts', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-rename-');
    a = sb.clone('a');
    await setupDevice(sb, a, testConfig('devA'));
    for (const n of ['r1', 'r2', 'r3']) writeFileSync(join(a, `${n}.txt`), body(n));
    commitAll(sb, a, 'base');
    sb.git(a, 'push', '-q', 'origin', 'main');
    b = sb.clone('b');
    await setupDevice(sb, b, testConfig('devB'));
  });
  afterAll(() => sb?.cleanup());

  it('keeps every side of rename/rename, rename/delete and rename/modify', async () => {
    renameSync(join(a, 'r1.txt'), join(a, 'r1-a.txt'));
    rmSync(join(a, 'r2.txt'));
    renameSync(join(a, 'r3.txt'), join(a, 'r3-a.txt'));
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);

    renameSync(join(b, 'r1.txt'), join(b, 'r1-b.txt'));
    renameSync(join(b, 'r2.txt'), join(b, 'r2-b.txt'));
    writeFileSync(join(b, 'r2-b.txt'), body('r2', 'changed by b\n'));
    writeFileSync(join(b, 'r3.txt'), body('r3', 'changed by b\n'));
    const r = await cli(sb, b, ['sync-now']);
    expect(r.code, r.stderr).toBe(0);
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);

    const tree = lsTree(sb, sb.remote, 'main');
    expect(lsTree(sb, a, 'HEAD')).toEqual(tree);
    expect(lsTree(sb, b, 'HEAD')).toEqual(tree);
    const text = (p: string) => (tree.has(p) ? blob(sb, sb.remote, tree.get(p)!).toString() : null);
    // rename/rename: both new names exist with the content.
    expect(text('r1-a.txt')).toBe(body('r1'));
    expect(text('r1-b.txt')).toBe(body('r1'));
    // rename/delete: the renamed and changed file survives.
    expect(text('r2-b.txt')).toBe(body('r2', 'changed by b\n'));
    // rename/modify: the object-store merge (read-tree -m) has no rename detection, so the
    // rename is a delete of r3.txt plus a new r3-a.txt; the delete never wins over b's
    // edit, so both names stay: nothing of either side is lost.
    expect(text('r3-a.txt')).toBe(body('r3'));
    expect(text('r3.txt')).toBe(body('r3', 'changed by b\n'));
    expect(tree.has('r1.txt') || tree.has('r2.txt')).toBe(false);
    assertNoMarkersInHistory(sb, sb.remote);
    const kinds = conflictLog(b).map((l) => `${l.path}:${l.kind}`);
    expect(kinds).toContain('r3.txt:delete-modify');
  });
});
