/**
 * Invariant 4's marker gate against real git: a file that was in conflict is committed
 * only as one side's blob, verbatim, or as a merged text with no marker line that no
 * side had; markers the user typed before the sync are their content.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGit } from '../../src/git/git.js';
import { mergeTrees, type ContentMerge } from '../../src/git/tree-merge.js';
import { defaultConfig } from '../../src/shared/config.js';
import { makeSandbox, type Sandbox } from '../helpers/git-fixture.js';
import { blob, cli, commitAll, conflictLog, lsTree, setupDevice, testConfig } from './engine-helpers.js';

const TYPED = ['# How to read a conflict', '<<<<<<< HEAD', 'your side', '=======', 'their side', '>>>>>>> branch', ''].join('\n');

describe('conflict-marker gate', () => {
  let sb: Sandbox;
  beforeAll(() => {
    sb = makeSandbox('sc-engine-markers-');
  });
  afterAll(() => sb?.cleanup());

  /** A repo where f.txt conflicts between two branches: base, remote side, local side. */
  function conflicted(name: string): { r: string; base: string; remote: string; local: string } {
    const r = sb.clone(name);
    writeFileSync(join(r, 'f.txt'), 'one\ntwo\nthree\n');
    commitAll(sb, r, 'base');
    const base = sb.git(r, 'rev-parse', 'HEAD').trim();
    writeFileSync(join(r, 'f.txt'), 'one\ntwo by remote\nthree\n');
    commitAll(sb, r, 'remote');
    const remote = sb.git(r, 'rev-parse', 'HEAD').trim();
    sb.git(r, 'reset', '-q', '--hard', base);
    writeFileSync(join(r, 'f.txt'), 'one\ntwo by local\nthree\n');
    commitAll(sb, r, 'local');
    return { r, base, remote, local: sb.git(r, 'rev-parse', 'HEAD').trim() };
  }

  function options(r: string, resolver: ContentMerge) {
    return {
      git: createGit(r, null).withOp('20260101-000000-aaaaaa'),
      gitDir: join(r, '.git'),
      root: r,
      opId: '20260101-000000-aaaaaa',
      config: defaultConfig(),
      device: 'devA',
      now: new Date(0),
      localTime: 2,
      remoteTime: 1,
      chosen: new Set<string>(),
      indexFile: join(r, '.git', 'test-index'),
      resolver,
    };
  }

  it('a merged text that carries a marker line no side had is refused: the file falls back to a conflict copy', async () => {
    const { r, base, remote, local } = conflicted('m');
    const withMarkers = async () => ({
      merged: Buffer.from('one\n<<<<<<< HEAD\ntwo by local\n=======\ntwo by remote\n>>>>>>> x\nthree\n'),
      partial: null,
      strategy: 'text',
      hunks: 1,
    });
    const out = await mergeTrees(base, remote, local, options(r, withMarkers));
    const files = sb.git(r, 'ls-tree', '-r', '--name-only', out.tree).trim().split('\n');
    expect(files.some((f) => f.startsWith('f.sync-conflict-'))).toBe(true);
    expect(sb.git(r, 'show', `${out.tree}:f.txt`)).toBe('one\ntwo by remote\nthree\n');
    for (const f of files) expect(sb.git(r, 'show', `${out.tree}:${f}`)).not.toMatch(/^(<{7}|>{7})( |$)|^={7}$/m);
    expect(out.records.map((x) => x.outcome)).toEqual(['copy-created']);
  });

  it('a merged text without new markers is accepted and logged as an auto-merge', async () => {
    const { r, base, remote, local } = conflicted('n');
    const clean = async () => ({ merged: Buffer.from('one\ntwo by local and remote\nthree\n'), partial: null, strategy: 'text', hunks: 1 });
    const out = await mergeTrees(base, remote, local, options(r, clean));
    expect(sb.git(r, 'show', `${out.tree}:f.txt`)).toBe('one\ntwo by local and remote\nthree\n');
    expect(out.records.map((x) => x.outcome)).toEqual(['auto-merged']);
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
