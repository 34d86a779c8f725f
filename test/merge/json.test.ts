import { diff3Merge } from 'node-diff3';
import { describe, expect, it } from 'vitest';
import { merge, text } from './helpers.js';

const j = (v: unknown, indent: string | number = 2) => JSON.stringify(v, null, indent) + '\n';

describe('json strategy', () => {
  it('different keys changed on each side merge by key', () => {
    const base = j({ theme: 'light', font: 12, plugins: { a: true } });
    const local = j({ theme: 'dark', font: 12, plugins: { a: true } });
    const remote = j({ theme: 'light', font: 14, plugins: { a: true, b: false } });
    expect(JSON.parse(text(merge(base, local, remote, 'json')))).toEqual({ theme: 'dark', font: 14, plugins: { a: true, b: false } });
  });

  it('one key set to different values on both sides is unresolved', () => {
    expect(merge(j({ font: 12 }), j({ font: 13 }), j({ font: 14 }), 'json')).toMatchObject({ status: 'unresolved', strategy: 'json', partial: null });
  });

  it('the silent line-merge case: the same key added on both sides at different places is a conflict', () => {
    const base = '{\n  "a": 1,\n  "b": 2\n}\n';
    const local = '{\n  "x": 1,\n  "a": 1,\n  "b": 2\n}\n';
    const remote = '{\n  "a": 1,\n  "b": 2,\n  "x": 2\n}\n';
    // A line merge takes both without a conflict and yields a duplicate key.
    const lines = (s: string) => s.split('\n');
    expect(diff3Merge(lines(local), lines(base), lines(remote)).some((r) => r.conflict)).toBe(false);
    expect(merge(base, local, remote, 'json')).toMatchObject({ status: 'unresolved', reason: 'the same key added on both sides with different values' });
  });

  it("keeps the file's indentation (tabs), key order and missing final newline when it has to write the structure", () => {
    const base = '{\n\t"a": 1,\n\t"b": [1, 2]\n}';
    const local = '{\n\t"a": 2,\n\t"b": [1, 2]\n}';
    const remote = '{\n\t"a": 1,\n\t"b": [1, 2],\n\t"c": 3\n}';
    const out = text(merge(base, local, remote, 'json'));
    expect(out).toBe('{\n\t"a": 2,\n\t"b": [1, 2],\n\t"c": 3\n}');
  });

  it("arrays merge as sequences: items appended on both sides are both kept, the earlier commit's first", () => {
    const base = j({ list: ['a'] });
    const out = text(merge(base, j({ list: ['a', 'b'] }), j({ list: ['a', 'c'] }), 'json', [1, 2]));
    expect(JSON.parse(out)).toEqual({ list: ['a', 'b', 'c'] });
  });

  it('a key deleted on one side and changed on the other is unresolved; deleted and unchanged is deleted', () => {
    expect(merge(j({ a: 1, b: 1 }), j({ b: 1 }), j({ a: 2, b: 1 }), 'json')).toMatchObject({ status: 'unresolved' });
    expect(JSON.parse(text(merge(j({ a: 1, b: 1 }), j({ b: 1 }), j({ a: 1, b: 2 }), 'json')))).toEqual({ b: 2 });
  });

  it('invalid JSON or a duplicate key in an input is unresolved, never a merge that does not parse', () => {
    expect(merge(j({ a: 1 }), '{"a": 1,', j({ a: 2 }), 'json')).toMatchObject({ status: 'unresolved' });
    expect(merge(j({ a: 1 }), '{\n  "a": 1,\n  "a": 3\n}\n', j({ a: 1, b: 2 }), 'json')).toMatchObject({ status: 'unresolved' });
  });
});
