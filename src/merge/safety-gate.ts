import { splitLines } from './lines.js';
import { align } from './seq-diff.js';
import { tokenize } from './tokens.js';

/**
 * Does `result` keep `side`'s intent against `base`, word by word? Every token the side
 * added is in the result (aligned, not just present somewhere), and no base token the
 * side deleted is kept by the result. Alignments are longest-common-subsequence ones;
 * when repeated tokens make them ambiguous the check errs towards "no".
 */
export function keepsIntent(base: readonly string[], side: readonly string[], result: readonly string[]): boolean {
  const bs = align(base, side);
  const sr = align(side, result);
  for (let p = 0; p < side.length; p++) if (!bs.inB[p] && !sr.inA[p]) return false;
  const br = align(base, result);
  for (let p = 0; p < base.length; p++) if (!bs.inA[p] && br.inA[p]) return false;
  return true;
}

const MARKER = /^(<{7}|={7}|>{7}|\|{7})(\s|$)/;

/** A conflict-marker line in the result that no input had: a merge tool's output leaked. */
export function hasNewMarker(result: string, inputs: readonly string[]): boolean {
  const marks = splitLines(result).filter((l) => MARKER.test(l));
  if (!marks.length) return false;
  const known = new Set(inputs.flatMap((t) => splitLines(t).filter((l) => MARKER.test(l))));
  return marks.some((l) => !known.has(l));
}

export interface GateInput {
  base: string;
  local: string;
  remote: string;
  result: string;
}

/**
 * The acceptance rule every merged result passes (DESIGN.md section 13): each side's
 * added words are in it, nothing either side deleted is, no new conflict marker.
 * Returns the reason it fails, or null. (JSON's parse check is the json strategy's.)
 */
export function safetyGate(g: GateInput): string | null {
  if (hasNewMarker(g.result, [g.base, g.local, g.remote])) return 'result has a conflict marker no side had';
  const base = tokenize(g.base);
  const result = tokenize(g.result);
  if (!keepsIntent(base, tokenize(g.local), result)) return 'result loses a change of the local side';
  if (!keepsIntent(base, tokenize(g.remote), result)) return 'result loses a change of the remote side';
  return null;
}
