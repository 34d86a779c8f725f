import { describe, expect, it } from 'vitest';
import { merge, text } from './helpers.js';

describe('union strategy', () => {
  it("a log appended on both sides keeps both sides' lines in commit-time order", () => {
    const base = '10:00 start\n';
    const local = '10:00 start\n10:05 local saved\n10:06 local synced\n';
    const remote = '10:00 start\n10:04 remote saved\n';
    expect(text(merge(base, local, remote, 'union', [2000, 1000]))).toBe('10:00 start\n10:04 remote saved\n10:05 local saved\n10:06 local synced\n');
  });

  it("both sides' deletions are applied; a line replaced on one side sits where the line was", () => {
    const base = 'a\nb\nc\n';
    // local deletes "a" and appends L after "c"; remote replaces "c" by R.
    expect(text(merge(base, 'b\nc\nL\n', 'a\nb\nR\n', 'union'))).toBe('b\nR\nL\n');
    // both delete a line and both append at the end: the earlier commit's lines first.
    expect(text(merge('a\nb\nc\n', 'b\nc\nL\n', 'a\nc\nR\n', 'union', [1, 2]))).toBe('c\nL\nR\n');
  });

  it('add/add of a log keeps both', () => {
    expect(text(merge(null, 'one\n', 'two\n', 'union'))).toBe('one\ntwo\n');
  });
});

describe('text-newest strategy', () => {
  it('an unresolved hunk takes the newer side; notes say what the other side had; other changes of the older side stay', () => {
    const base = 'visits: 10\n\nnotes about the page\n';
    const local = 'visits: 11\n\nnotes about the page, edited\n';
    const remote = 'visits: 12\n\nnotes about the page\n';
    const r = merge(base, local, remote, 'text-newest', [1000, 2000]);
    expect(text(r)).toBe('visits: 12\n\nnotes about the page, edited\n');
    expect(r.status === 'merged' && r.notes?.join('\n')).toContain('visits: 11');
    expect(text(merge(base, local, remote, 'text-newest', [3000, 2000]))).toBe('visits: 11\n\nnotes about the page, edited\n');
  });
});
