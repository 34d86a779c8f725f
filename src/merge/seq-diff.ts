import DiffMatchPatch from 'diff-match-patch';

/** A diff could not be computed exactly (too many distinct tokens, or it ran out of time): the caller must treat the merge as unsure. */
export class UnsureError extends Error {}

/** One change of a side against the base: base items [start, end) become `insert`. */
export interface Edit<T> {
  start: number;
  end: number;
  insert: T[];
}

const TIMEOUT_S = 2;
// Code units for token ids, skipping the surrogate range so no id is half a pair.
const MAX_IDS = 0xffff - 0x800;

function idChar(i: number): string {
  return String.fromCharCode(i < 0xd800 ? i : i + 0x800);
}

/** Diff two sequences of strings with diff-match-patch (Myers), each distinct string one character. */
function diffOps(a: readonly string[], b: readonly string[]): [number, string][] {
  const ids = new Map<string, string>();
  const enc = (xs: readonly string[]) => {
    let s = '';
    for (const x of xs) {
      let c = ids.get(x);
      if (c === undefined) {
        if (ids.size >= MAX_IDS) throw new UnsureError('too many distinct tokens to diff');
        c = idChar(ids.size);
        ids.set(x, c);
      }
      s += c;
    }
    return s;
  };
  const ea = enc(a);
  const eb = enc(b);
  const dmp = new DiffMatchPatch();
  dmp.Diff_Timeout = TIMEOUT_S;
  const started = performance.now();
  const ops = dmp.diff_main(ea, eb, false);
  // On timeout diff-match-patch returns a valid but not minimal diff; an alignment
  // that misses matches could hide a deleted token, so that is "unsure", not "fine".
  if (performance.now() - started >= TIMEOUT_S * 1000 * 0.9) throw new UnsureError('diff timed out');
  return ops as [number, string][];
}

/** Exact alignment: a longest common subsequence (Myers). */
function alignExact(a: readonly string[], b: readonly string[], inA: boolean[], inB: boolean[], offA = 0, offB = 0): void {
  let i = offA;
  let j = offB;
  for (const [op, text] of diffOps(a, b)) {
    const n = text.length;
    if (op === 0) {
      for (let k = 0; k < n; k++) inA[i + k] = inB[j + k] = true;
      i += n;
      j += n;
    } else if (op === -1) i += n;
    else j += n;
  }
}

/** Start index of each line of a token sequence (a line ends after a line-break token), plus the end. */
function lineStarts(xs: readonly string[]): number[] {
  const starts = [0];
  for (let k = 0; k < xs.length; k++) if (xs[k] === '\n' || xs[k] === '\r\n') starts.push(k + 1);
  if (starts[starts.length - 1] !== xs.length) starts.push(xs.length);
  return starts;
}

/**
 * For each item of a and of b: is it matched (kept) in an alignment of the two? Lines
 * are aligned first (as diff-match-patch's line mode does), then the tokens of each run
 * of changed lines within that run. Two reasons: Myers is O(N·D) in tokens, seconds on
 * a 100 KB changelog whose sides added hundreds of lines; and punctuation repeats so
 * often that token-only alignments of base→side and base→result can pick different
 * but equally long matchings (which `"` or `,` was deleted), and the gate would see a
 * deletion undone where the result has exactly the side's lines. A line left out of the
 * line alignment is only ever unmatched, so the gate errs towards "unresolved".
 */
export function align(a: readonly string[], b: readonly string[]): { inA: boolean[]; inB: boolean[] } {
  const inA = new Array<boolean>(a.length).fill(false);
  const inB = new Array<boolean>(b.length).fill(false);
  const sa = lineStarts(a);
  const sb = lineStarts(b);
  const lines = (xs: readonly string[], s: number[]) => s.slice(0, -1).map((st, k) => xs.slice(st, s[k + 1]).join(''));
  let la = 0;
  let lb = 0;
  let pendA = 0;
  let pendB = 0;
  const flush = () => {
    if (pendA && pendB) {
      const a0 = sa[la - pendA] as number;
      const b0 = sb[lb - pendB] as number;
      alignExact(a.slice(a0, sa[la]), b.slice(b0, sb[lb]), inA, inB, a0, b0);
    }
    pendA = pendB = 0;
  };
  for (const [op, text] of diffOps(lines(a, sa), lines(b, sb))) {
    const n = text.length;
    if (op === 0) {
      flush();
      for (let t = sa[la] as number; t < (sa[la + n] as number); t++) inA[t] = true;
      for (let t = sb[lb] as number; t < (sb[lb + n] as number); t++) inB[t] = true;
      la += n;
      lb += n;
    } else if (op === -1) {
      la += n;
      pendA += n;
    } else {
      lb += n;
      pendB += n;
    }
  }
  flush();
  return { inA, inB };
}

/** The edits that turn base into side, in base order, each a maximal run between kept items. */
export function editsOf(base: readonly string[], side: readonly string[]): Edit<string>[] {
  const edits: Edit<string>[] = [];
  let i = 0;
  let j = 0;
  let cur: Edit<string> | null = null;
  for (const [op, text] of diffOps(base, side)) {
    const n = text.length;
    if (op === 0) {
      if (cur) edits.push(cur);
      cur = null;
      i += n;
      j += n;
      continue;
    }
    cur ??= { start: i, end: i, insert: [] };
    if (op === -1) {
      i += n;
      cur.end = i;
    } else {
      cur.insert.push(...side.slice(j, j + n));
      j += n;
    }
  }
  if (cur) edits.push(cur);
  return edits;
}

function sameEdit<T>(x: Edit<T>, y: Edit<T>): boolean {
  return x.start === y.start && x.end === y.end && x.insert.length === y.insert.length && x.insert.every((t, k) => t === y.insert[k]);
}

/**
 * Apply both sides' edits to base when they touch disjoint ranges. Edits that overlap
 * or touch (one ends where the other starts, or both insert at one point) collide,
 * unless they are the same edit. Returns null on a collision.
 */
export function applyDisjoint<T>(base: readonly T[], ea: readonly Edit<T>[], eb: readonly Edit<T>[]): T[] | null {
  const all: Edit<T>[] = [];
  let x = 0;
  let y = 0;
  while (x < ea.length || y < eb.length) {
    const a = ea[x];
    const b = eb[y];
    if (a && b) {
      if (sameEdit(a, b)) {
        all.push(a);
        x++;
        y++;
        continue;
      }
      if (a.start <= b.end && b.start <= a.end) return null;
      if (a.start < b.start) {
        all.push(a);
        x++;
      } else {
        all.push(b);
        y++;
      }
    } else if (a) {
      all.push(a);
      x++;
    } else if (b) {
      all.push(b);
      y++;
    }
  }
  const out: T[] = [];
  let pos = 0;
  for (const e of all) {
    out.push(...base.slice(pos, e.start), ...e.insert);
    pos = e.end;
  }
  out.push(...base.slice(pos));
  return out;
}
