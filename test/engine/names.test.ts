/**
 * File names that look like options, shell or pathspec magic (`-rf`, `--force`,
 * `$(x).txt`, `*`, `[ab].txt`, `:(top)x`), with spaces, newlines and non-ASCII: they
 * sync, and when they conflict their conflict copies are made and logged correctly.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { assertNoMarkersInHistory, blob, cli, conflictLog, lsTree, setupDevice, testConfig, worktreeSnapshot } from './engine-helpers.js';

const NAMES = [
  '-rf',
  '--force',
  '$(x).txt',
  '`id`.txt',
  'with space.txt',
  'new\nline.txt',
  '*',
  '[ab].txt',
  ':(top)magic.txt',
  'tab\there.txt',
  'café.txt',
  'a',
  'b',
];
const CONFLICTING = ['-rf', 'new\nline.txt', '*', '[ab].txt', ':(top)magic.txt'];

describe('hostile file names', () => {
  let sb: Sandbox;
  let a: string;
  let b: string;

  beforeAll(async () => {
    sb = makeSandbox('sc-engine-names-');
    a = sb.clone('a');
    b = sb.clone('b');
    await setupDevice(sb, a, testConfig('devA'));
    await setupDevice(sb, b, testConfig('devB'));
  });
  afterAll(() => sb?.cleanup());

  it('sync between devices, including conflicts on them', async () => {
    for (const n of NAMES) writeFileSync(join(a, n), `content of ${JSON.stringify(n)}\n`);
    const first = await cli(sb, a, ['sync-now']);
    expect(first.code, first.stderr).toBe(0);
    const pulled = await cli(sb, b, ['sync-now']);
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(worktreeSnapshot(b)).toEqual(worktreeSnapshot(a));
    const tree = lsTree(sb, sb.remote, 'main');
    for (const n of NAMES) expect(blob(sb, sb.remote, tree.get(n)!).toString(), JSON.stringify(n)).toBe(`content of ${JSON.stringify(n)}\n`);
    // `*` and `[ab].txt` are literal names: `a` and `b` were not touched by their syncs.

    // Both devices change the same hostile files; B syncs second and gets copies.
    for (const n of CONFLICTING) {
      writeFileSync(join(a, n), `A's version of ${JSON.stringify(n)}\n`);
      writeFileSync(join(b, n), `B's version of ${JSON.stringify(n)}\n`);
    }
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);
    const conflicted = await cli(sb, b, ['sync-now']);
    expect(conflicted.code, conflicted.stderr).toBe(0);
    expect((await cli(sb, a, ['sync-now'])).code).toBe(0);

    const final = lsTree(sb, sb.remote, 'main');
    expect(lsTree(sb, a, 'HEAD')).toEqual(final);
    expect(lsTree(sb, b, 'HEAD')).toEqual(final);
    const log = conflictLog(b);
    for (const n of CONFLICTING) {
      expect(blob(sb, sb.remote, final.get(n)!).toString()).toBe(`A's version of ${JSON.stringify(n)}\n`);
      const rec = log.find((l) => l.path === n);
      expect(rec, JSON.stringify(n)).toBeDefined();
      expect(rec!.outcome).toBe('copy-created');
      expect(blob(sb, sb.remote, final.get(rec!.copy_path!)!).toString()).toBe(`B's version of ${JSON.stringify(n)}\n`);
    }
    expect(log.find((l) => l.path === 'new\nline.txt')!.copy_path).toMatch(/^new\nline\.sync-conflict-\d{8}-\d{6}-devB\.txt$/);
    expect(log.find((l) => l.path === '-rf')!.copy_path).toMatch(/^-rf\.sync-conflict-\d{8}-\d{6}-devB$/);
    // Files whose names look like globs of the conflicting ones were not touched.
    for (const n of ['a', 'b', 'with space.txt', '--force']) expect(blob(sb, sb.remote, final.get(n)!).toString()).toBe(`content of ${JSON.stringify(n)}\n`);
    expect(worktreeSnapshot(b)).toEqual(worktreeSnapshot(a));
    assertNoMarkersInHistory(sb, sb.remote);
  });
});
