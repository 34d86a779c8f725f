import { diff3Merge } from 'node-diff3';

/** A region git's line merge would mark as a conflict: each side's and the base's lines there, and where it starts in each. */
export interface Hunk {
  o: string[];
  a: string[];
  b: string[];
  oIndex: number;
  aIndex: number;
  bIndex: number;
}

export type Region = { ok: string[] } | { hunk: Hunk };

/**
 * Line-level diff3 (node-diff3) of local (a) and remote (b) against base (o). Lines are
 * interned to numbers first: node-diff3 keys a plain object by item, so a line such as
 * "constructor" or "__proto__" would break it, and numbers compare faster.
 */
export function lineRegions(a: readonly string[], o: readonly string[], b: readonly string[]): Region[] {
  // Lines all three share at the start and the end are stable whatever the alignment:
  // leave them out of the LCS, whose cost grows with the pairs of equal lines (every
  // blank line of a long changelog pairs with every other).
  let pre = 0;
  while (pre < a.length && pre < o.length && pre < b.length && a[pre] === o[pre] && o[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre &&
    suf < o.length - pre &&
    suf < b.length - pre &&
    a[a.length - 1 - suf] === o[o.length - 1 - suf] &&
    o[o.length - 1 - suf] === b[b.length - 1 - suf]
  )
    suf++;
  const mid = middleRegions(a.slice(pre, a.length - suf), o.slice(pre, o.length - suf), b.slice(pre, b.length - suf));
  for (const r of mid)
    if ('hunk' in r) {
      r.hunk.oIndex += pre;
      r.hunk.aIndex += pre;
      r.hunk.bIndex += pre;
    }
  const out: Region[] = [];
  if (pre) out.push({ ok: o.slice(0, pre) });
  out.push(...mid);
  if (suf) out.push({ ok: o.slice(o.length - suf) });
  return out;
}

function middleRegions(a: readonly string[], o: readonly string[], b: readonly string[]): Region[] {
  const ids = new Map<string, number>();
  const lines: string[] = [];
  const intern = (xs: readonly string[]) =>
    xs.map((x) => {
      let id = ids.get(x);
      if (id === undefined) {
        id = lines.length;
        ids.set(x, id);
        lines.push(x);
      }
      return id;
    });
  const back = (xs: readonly number[]) => xs.map((id) => lines[id] as string);
  return diff3Merge(intern(a), intern(o), intern(b), { excludeFalseConflicts: true }).map((r): Region => {
    if (r.conflict) {
      const c = r.conflict;
      return { hunk: { o: back(c.o), a: back(c.a), b: back(c.b), oIndex: c.oIndex, aIndex: c.aIndex, bIndex: c.bIndex } };
    }
    return { ok: back(r.ok ?? []) };
  });
}
