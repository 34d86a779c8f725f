import { endsWithEol } from './lines.js';
import { keepsIntent } from './safety-gate.js';
import { applyDisjoint, editsOf, type Edit } from './seq-diff.js';
import { tokenize } from './tokens.js';
import type { Hunk } from './line-regions.js';

/** Which side's commit is older: its lines go first where both sides' lines are kept. */
export type Order = 'local-first' | 'remote-first';

/** Word level: accepted only when the two sides changed disjoint word ranges of the hunk. */
export function mergeWords(h: Hunk): string | null {
  const o = tokenize(h.o.join(''));
  const merged = applyDisjoint(o, editsOf(o, tokenize(h.a.join(''))), editsOf(o, tokenize(h.b.join(''))));
  return merged ? merged.join('') : null;
}

/**
 * A later snapshot of the same note: one side's version of the hunk already holds every
 * word the other side added and none it deleted. Returns that side's lines.
 */
export function takeContaining(h: Hunk): string[] | null {
  const o = tokenize(h.o.join(''));
  const a = tokenize(h.a.join(''));
  const b = tokenize(h.b.join(''));
  if (keepsIntent(o, b, a)) return h.a;
  if (keepsIntent(o, a, b)) return h.b;
  return null;
}

/** Blocks of lines one after another; null when a block without a final line break would glue onto the next one. */
function stack(blocks: readonly string[][]): string[] | null {
  const out: string[] = [];
  for (const block of blocks) {
    const last = out[out.length - 1];
    if (block.length && last !== undefined && !endsWithEol(last)) return null;
    out.push(...block);
  }
  return out;
}

const blank = (line: string) => line.trim() === '';

/**
 * Two blocks inserted at one point, the first then the second; lines both start or
 * end with are kept once (the same intent, as diff3 keeps an identical change once).
 * A shared run of blank lines alone does not count, nor do the blank lines that open a
 * shared tail: they separate the blocks.
 */
export function bothBlocks(first: readonly string[], second: readonly string[]): string[] | null {
  const n = Math.min(first.length, second.length);
  let p = 0;
  while (p < n && first[p] === second[p]) p++;
  if (first.slice(0, p).every(blank)) p = 0;
  let s = 0;
  while (s < n - p && first[first.length - 1 - s] === second[second.length - 1 - s]) s++;
  // Blank lines that open the shared tail separate each block from it: each block keeps its own.
  while (s > 0 && blank(first[first.length - s] as string)) s--;
  return stack([first.slice(0, p), first.slice(p, first.length - s), second.slice(p, second.length - s), first.slice(first.length - s)]);
}

/** Both sides inserted lines at one point and deleted nothing there: both, the earlier commit's first. */
export function keepBothInserted(h: Hunk, order: Order): string[] | null {
  if (h.o.length !== 0) return null;
  return order === 'local-first' ? bothBlocks(h.a, h.b) : bothBlocks(h.b, h.a);
}

/**
 * Append-only files: every line either side added, in commit-time order where both
 * added at one point, and every line either side deleted gone. An edit both sides made
 * identically is applied once.
 */
export function unionLines(h: Hunk, order: Order): string[] | null {
  const [first, second] = order === 'local-first' ? [h.a, h.b] : [h.b, h.a];
  const e1 = editsOf(h.o, first);
  const e2 = editsOf(h.o, second);
  const deleted = new Set<number>();
  const at = new Map<number, string[][]>();
  const key = (e: Edit<string>) => `${e.start}:${e.end}:${e.insert.join('')}`;
  const seen = new Set(e1.map(key));
  for (const e of [...e1, ...e2.filter((e) => !seen.has(key(e)))]) {
    for (let p = e.start; p < e.end; p++) deleted.add(p);
    if (!at.has(e.start)) at.set(e.start, []);
    at.get(e.start)?.push(e.insert);
  }
  const blocks: string[][] = [];
  for (let p = 0; p <= h.o.length; p++) {
    const ins = at.get(p) ?? [];
    if (ins.length === 2) {
      const both = bothBlocks(ins[0] as string[], ins[1] as string[]);
      if (!both) return null;
      blocks.push(both);
    } else blocks.push(...ins);
    const line = h.o[p];
    if (line !== undefined && !deleted.has(p)) blocks.push([line]);
  }
  return stack(blocks);
}
