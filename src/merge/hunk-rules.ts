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

/** Both sides inserted lines at one point and deleted nothing there: both, the earlier commit's first. */
export function keepBothInserted(h: Hunk, order: Order): string[] | null {
  if (h.o.length !== 0) return null;
  return stack(order === 'local-first' ? [h.a, h.b] : [h.b, h.a]);
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
    blocks.push(...(at.get(p) ?? []));
    const line = h.o[p];
    if (line !== undefined && !deleted.has(p)) blocks.push([line]);
  }
  return stack(blocks);
}
