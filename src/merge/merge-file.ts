import type { MergeStrategy } from '../shared/config.js';
import { decodeText, looksBinary } from './content-kind.js';
import type { Order } from './hunk-rules.js';
import { mergeJson } from './json-merge.js';
import { safetyGate } from './safety-gate.js';
import { UnsureError } from './seq-diff.js';
import { mergeText } from './text-merge.js';
import type { MergeInput, MergeResult } from './types.js';

function unresolved(strategy: MergeStrategy, reason: string, partial: Buffer | null, hunks = 1, unresolvedHunks = hunks): MergeResult {
  return { status: 'unresolved', strategy, reason, hunks, unresolvedHunks, partial };
}

/**
 * Merge one file's two sides against their base by the path's strategy (DESIGN.md
 * section 13). Pure: no I/O, no clock. Never a wrong merge: whatever a rule produces
 * must pass the safety gate, and anything unsure is "unresolved" for the conflict
 * policy to handle.
 */
export function mergeFile(input: MergeInput): MergeResult {
  const { strategy } = input;
  const buffers = [input.base, input.local, input.remote].filter((b): b is Buffer => b !== null);
  if (buffers.some(looksBinary)) return unresolved('copy', 'binary file', null);
  const [base, local, remote] = [input.base === null ? null : decodeText(input.base), decodeText(input.local), decodeText(input.remote)];
  if (local === null || remote === null || (input.base !== null && base === null)) return unresolved('copy', 'not valid UTF-8', null);
  if (strategy === 'copy') return unresolved('copy', 'strategy copy', null);
  // Equal times (commit times have 1 s resolution): the remote side first, since it reached
  // the remote before this sync ran; the same inputs always give the same bytes.
  const order: Order = input.remoteTime <= input.localTime ? 'remote-first' : 'local-first';
  try {
    if (strategy === 'json') {
      const r = mergeJson(base, local, remote, order);
      if (r.status === 'unresolved') return unresolved('json', r.reason, null, r.hunks);
      const gate = safetyGate({ base: base ?? '', local, remote, result: r.text });
      if (gate) return unresolved('json', `safety gate: ${gate}`, null, r.hunks);
      return { status: 'merged', content: Buffer.from(r.text, 'utf8'), strategy, hunks: r.hunks };
    }
    const r = mergeText({ strategy, base, local, remote, order });
    if (r.status === 'unresolved') return unresolved(strategy, r.reason, Buffer.from(r.partial, 'utf8'), r.hunks, r.unresolvedHunks);
    const merged: MergeResult = { status: 'merged', content: Buffer.from(r.text, 'utf8'), strategy, hunks: r.hunks };
    if (r.notes) merged.notes = r.notes;
    return merged;
  } catch (e) {
    if (e instanceof UnsureError) return unresolved(strategy, e.message, strategy === 'json' ? null : input.remote);
    throw e;
  }
}
