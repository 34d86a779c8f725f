import { describe, expect, it } from 'vitest';
import { mergeFile } from '../../src/merge/index.js';
import { merge, text } from './helpers.js';

describe('text strategy', () => {
  it('the same paragraph edited in different sentences on two devices merges word by word', () => {
    const base = '# Trip\n\nWe leave on Monday. The train is at nine. Bring a coat.\n';
    const local = '# Trip\n\nWe leave on Tuesday. The train is at nine. Bring a coat.\n';
    const remote = '# Trip\n\nWe leave on Monday. The train is at nine. Bring a warm coat and boots.\n';
    const r = merge(base, local, remote);
    expect(text(r)).toBe('# Trip\n\nWe leave on Tuesday. The train is at nine. Bring a warm coat and boots.\n');
    expect(r).toMatchObject({ status: 'merged', strategy: 'text', hunks: 1 });
  });

  it('the same word changed on both sides stays unresolved; the partial carries the remote side there', () => {
    const r = merge('The train is at nine.\n', 'The train is at ten.\n', 'The train is at eight.\n');
    expect(r).toMatchObject({ status: 'unresolved', strategy: 'text', hunks: 1, unresolvedHunks: 1 });
    if (r.status === 'unresolved') expect(r.partial?.toString()).toBe('The train is at eight.\n');
  });

  it('a partly resolvable file: the partial has every resolved hunk and the remote side only where edits collide', () => {
    const base = 'title: plans\n\nalpha beta gamma delta\n\none\ntwo\nthree\n\ncount 1\n';
    const local = 'title: plans\n\nALPHA beta gamma delta\n\none\ntwo\nthree\n\ncount 2\n';
    const remote = 'title: plans\n\nalpha beta gamma DELTA\n\none\ntwo\nthree\n\ncount 3\n';
    const r = merge(base, local, remote);
    expect(r).toMatchObject({ status: 'unresolved', hunks: 2, unresolvedHunks: 1 });
    if (r.status === 'unresolved') expect(r.partial?.toString()).toBe('title: plans\n\nALPHA beta gamma DELTA\n\none\ntwo\nthree\n\ncount 3\n');
  });

  it("list items inserted at the same place: both kept, the earlier commit's first", () => {
    const base = '- milk\n- eggs\n';
    const local = '- milk\n- bread\n- eggs\n';
    const remote = '- milk\n- apples\n- eggs\n';
    expect(text(merge(base, local, remote, 'text', [1000, 2000]))).toBe('- milk\n- bread\n- apples\n- eggs\n');
    expect(text(merge(base, local, remote, 'text', [3000, 2000]))).toBe('- milk\n- apples\n- bread\n- eggs\n');
  });

  it("a later snapshot of the same note (one side contains the other's change) takes the containing side", () => {
    const base = '# Log\n\nMonday: rain.\n';
    const early = '# Log\n\nMonday: rain.\nTuesday: sun and wind.\n';
    const later = '# Log\n\nMonday: rain.\nTuesday: sun and wind, then rain again.\nWednesday: fog.\n';
    expect(text(merge(base, early, later))).toBe(later);
    expect(text(merge(base, later, early))).toBe(later);
  });

  it('keeps CRLF line endings and a missing final newline as the inputs have them', () => {
    const r = merge('one\r\ntwo\r\nthree\r\nfour', 'ONE\r\ntwo\r\nthree\r\nfour', 'one\r\ntwo\r\nthree\r\nFOUR');
    expect(text(r)).toBe('ONE\r\ntwo\r\nthree\r\nFOUR');
  });

  it('add/add: identical content merges, different content stays unresolved (no base to merge against)', () => {
    expect(text(merge(null, 'same\n', 'same\n'))).toBe('same\n');
    expect(merge(null, 'mine\n', 'theirs\n')).toMatchObject({ status: 'unresolved' });
  });

  it('a line "constructor" or "__proto__" does not break the line diff', () => {
    const base = 'a\nconstructor\n__proto__\nb';
    expect(text(merge(base, 'A\nconstructor\n__proto__\nb', 'a\nconstructor\n__proto__\nB'))).toBe('A\nconstructor\n__proto__\nB');
  });

  it('binary or invalid UTF-8 sides, and the copy strategy, are always unresolved (copy)', () => {
    const bin = Buffer.from([0x61, 0x00, 0x62]);
    const r = mergeFile({ path: 'x.md', base: Buffer.from('a'), local: bin, remote: Buffer.from('b'), localTime: 1, remoteTime: 2, strategy: 'text' });
    expect(r).toMatchObject({ status: 'unresolved', strategy: 'copy', reason: 'binary file', partial: null });
    const bad = Buffer.from([0x61, 0xff, 0x62]);
    expect(
      mergeFile({ path: 'x.md', base: Buffer.from('a'), local: bad, remote: Buffer.from('b'), localTime: 1, remoteTime: 2, strategy: 'text' }),
    ).toMatchObject({ status: 'unresolved', strategy: 'copy' });
    expect(merge('a\n', 'a\nb\n', 'c\na\n', 'copy')).toMatchObject({ status: 'unresolved', strategy: 'copy' });
  });

  it('conflict-marker lines that an input already had are fine; the merge never adds one', () => {
    const base = 'x\n=======\ny\n';
    expect(text(merge(base, 'X\n=======\ny\n', 'x\n=======\nY\n'))).toBe('X\n=======\nY\n');
  });
});
