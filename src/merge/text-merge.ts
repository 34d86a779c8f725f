import type { MergeStrategy } from '../shared/config.js';
import { keepBothInserted, mergeWords, takeContaining, unionLines, type Order } from './hunk-rules.js';
import { lineRegions, type Hunk } from './line-regions.js';
import { splitLines } from './lines.js';
import { safetyGate } from './safety-gate.js';

export type TextStrategy = Extract<MergeStrategy, 'text' | 'union' | 'text-newest'>;

export interface TextMergeInput {
  strategy: TextStrategy;
  /** null: added on both sides. */
  base: string | null;
  local: string;
  remote: string;
  order: Order;
}

export type TextMergeResult =
  | { status: 'merged'; text: string; hunks: number; notes?: string[] }
  | { status: 'unresolved'; reason: string; hunks: number; unresolvedHunks: number; partial: string };

/** One hunk by the strategy's rules, in order of how much of both sides they keep; null: unresolved. */
function resolveHunk(h: Hunk, strategy: TextStrategy, order: Order, addAdd: boolean): string[] | null {
  const words = mergeWords(h);
  if (words !== null) return [words];
  const containing = takeContaining(h);
  if (containing) return containing;
  if (strategy === 'union') return unionLines(h, order);
  // Two files created apart share no base: "inserted at the same point" would just glue
  // two unrelated files together, so add/add keeps both only for union.
  if (!addAdd) return keepBothInserted(h, order);
  return null;
}

/** The older side's file with the hunks text-newest overrode put back to the base: its intent that the result must still keep. */
function withoutHunks(lines: readonly string[], hunks: readonly Hunk[], side: 'a' | 'b'): string {
  const out = [...lines];
  const sorted = [...hunks].sort((x, y) => (side === 'a' ? y.aIndex - x.aIndex : y.bIndex - x.bIndex));
  for (const h of sorted) out.splice(side === 'a' ? h.aIndex : h.bIndex, (side === 'a' ? h.a : h.b).length, ...h.o);
  return out.join('');
}

export function mergeText(input: TextMergeInput): TextMergeResult {
  const { strategy, order } = input;
  const base = input.base ?? '';
  const lo = splitLines(base);
  const la = splitLines(input.local);
  const lb = splitLines(input.remote);
  const regions = lineRegions(la, lo, lb);
  let hunks = 0;
  let unresolved = 0;
  const merged: string[] = [];
  const partial: string[] = [];
  const overridden: Hunk[] = [];
  const notes: string[] = [];
  const newerIsLocal = order === 'remote-first';
  for (const r of regions) {
    if ('ok' in r) {
      merged.push(...r.ok);
      partial.push(...r.ok);
      continue;
    }
    hunks++;
    const h = r.hunk;
    const lines = resolveHunk(h, strategy, order, input.base === null);
    if (lines) {
      merged.push(...lines);
      partial.push(...lines);
    } else if (strategy === 'text-newest') {
      merged.push(...(newerIsLocal ? h.a : h.b));
      partial.push(...(newerIsLocal ? h.a : h.b));
      overridden.push(h);
      notes.push(
        `line ${h.oIndex + 1} of the base: kept the newer (${newerIsLocal ? 'local' : 'remote'}) side; the ${newerIsLocal ? 'remote' : 'local'} side had ${JSON.stringify((newerIsLocal ? h.b : h.a).join(''))}`,
      );
    } else {
      unresolved++;
      partial.push(...h.b);
    }
  }
  if (unresolved) {
    return {
      status: 'unresolved',
      reason: `${unresolved} of ${hunks} hunk(s) changed on both sides`,
      hunks,
      unresolvedHunks: unresolved,
      partial: partial.join(''),
    };
  }
  const text = merged.join('');
  // text-newest drops the older side's overridden hunks by design; the gate still
  // holds the older side to every change it made elsewhere.
  const older = overridden.length ? withoutHunks(newerIsLocal ? lb : la, overridden, newerIsLocal ? 'b' : 'a') : null;
  const gate = safetyGate({
    base,
    local: older !== null && !newerIsLocal ? older : input.local,
    remote: older !== null && newerIsLocal ? older : input.remote,
    result: text,
  });
  if (gate) return { status: 'unresolved', reason: `safety gate: ${gate}`, hunks, unresolvedHunks: Math.max(hunks, 1), partial: input.remote };
  return notes.length ? { status: 'merged', text, hunks, notes } : { status: 'merged', text, hunks };
}
