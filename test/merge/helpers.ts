import type { MergeStrategy } from '../../src/shared/config.js';
import { mergeFile, type MergeResult } from '../../src/merge/index.js';

/** mergeFile on strings; local's commit is the earlier unless times say otherwise. */
export function merge(
  base: string | null,
  local: string,
  remote: string,
  strategy: MergeStrategy = 'text',
  times: [number, number] = [1000, 2000],
): MergeResult {
  return mergeFile({
    path: 'note.md',
    base: base === null ? null : Buffer.from(base),
    local: Buffer.from(local),
    remote: Buffer.from(remote),
    localTime: times[0],
    remoteTime: times[1],
    strategy,
  });
}

export function text(r: MergeResult): string {
  if (r.status !== 'merged') throw new Error(`expected a merge, got unresolved: ${r.reason}`);
  return r.content.toString('utf8');
}
