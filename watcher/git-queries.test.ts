import { describe, expect, it } from 'vitest';
import { parseIgnoredListing } from './git-queries.js';

describe('parseIgnoredListing', () => {
  it('splits wholly ignored directories from single files', () => {
    const snap = parseIgnoredListing('build/\0dist/\0sub/node_modules/\0x.log\0a b/c.tmp\0');
    expect([...snap.dirs]).toEqual(['build', 'dist', 'sub/node_modules']);
    expect([...snap.files]).toEqual(['x.log', 'a b/c.tmp']);
    expect(parseIgnoredListing('').dirs.size).toBe(0);
  });
});
