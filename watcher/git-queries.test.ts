import { describe, expect, it } from 'vitest';
import { parseIgnoredListing, parseStatusZ } from './git-queries.js';

describe('parseStatusZ', () => {
  it('reads porcelain v1 -z output captured from git 2.39, renames included', () => {
    const out = 'AM d/e\0 D del.txt\0 M mod.txt\0R  new name.txt\0old.txt\0?? un tracked.md\0';
    expect(parseStatusZ(out)).toEqual([
      { xy: 'AM', path: 'd/e' },
      { xy: ' D', path: 'del.txt' },
      { xy: ' M', path: 'mod.txt' },
      { xy: 'R ', path: 'new name.txt' },
      { xy: '??', path: 'un tracked.md' },
    ]);
  });

  it('keeps odd names intact and reads empty output as clean', () => {
    expect(parseStatusZ('?? a\nb\0?? -x\0')).toEqual([
      { xy: '??', path: 'a\nb' },
      { xy: '??', path: '-x' },
    ]);
    expect(parseStatusZ('')).toEqual([]);
  });
});

describe('parseIgnoredListing', () => {
  it('splits wholly ignored directories from single files', () => {
    const snap = parseIgnoredListing('build/\0dist/\0sub/node_modules/\0x.log\0a b/c.tmp\0');
    expect([...snap.dirs]).toEqual(['build', 'dist', 'sub/node_modules']);
    expect([...snap.files]).toEqual(['x.log', 'a b/c.tmp']);
    expect(parseIgnoredListing('').dirs.size).toBe(0);
  });
});
