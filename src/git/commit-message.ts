import type { ChangeSummary } from './status.js';
import type { SyncType } from '../shared/config.js';

const SHOWN_PATHS = 5;

/** `sync(manual): 2 added, 1 modified, 0 deleted on laptop` + first paths + `Sync-Op` trailer. */
export function commitMessage(type: SyncType, s: ChangeSummary, device: string, opId: string): string {
  const counts = [`${s.added.length} added`, `${s.modified.length} modified`, `${s.deleted.length} deleted`];
  if (s.renamed.length) counts.push(`${s.renamed.length} renamed`);
  const all = [...s.added.map((p) => `A ${p}`), ...s.modified.map((p) => `M ${p}`), ...s.deleted.map((p) => `D ${p}`), ...s.renamed.map((p) => `R ${p}`)];
  // Paths are data: keep them on one line each, without control characters.
  const shown = all.slice(0, SHOWN_PATHS).map((l) => l.replace(/[\u0000-\u001f\u007f]/g, '?'));
  const more = all.length > SHOWN_PATHS ? [`... and ${all.length - SHOWN_PATHS} more`] : [];
  return [`sync(${type}): ${counts.join(', ')} on ${device}`, '', ...shown, ...more, '', `Sync-Op: ${opId}`, ''].join('\n');
}
