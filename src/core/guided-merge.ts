/**
 * `conflicts --merge` leaves git's conflict markers in a file for the user to edit.
 * Until `conflicts --resolve` closes it, automatic syncs are paused (the `paused`
 * record, reason GUIDED_MERGE_REASON) and even a manual sync refuses while the file
 * still has markers: a sync would otherwise commit them and spread them to every
 * device (a marker in a file that was not in conflict during the sync counts as the
 * user's content, invariant 4).
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { shellWord } from '../shared/shell-word.js';
import type { PauseState } from '../shared/state.js';

export const GUIDED_MERGE_REASON = 'guided merge in progress';

/** Line numbers (1-based) of conflict marker lines as git writes them. */
export function markerLines(text: string): number[] {
  const out: number[] = [];
  text.split('\n').forEach((l, i) => {
    if (/^(<{7}|>{7})( |$)/.test(l) || /^(={7}|\|{7})( |$)/.test(l)) out.push(i + 1);
  });
  return out;
}

/** A command to paste: the path shell-quoted, as `--opt=<path>` so that `-x` stays a value. */
export function conflictsCommand(opt: '--resolve' | '--merge', path: string): string {
  return `sync-coordinator conflicts ${opt}=${shellWord(path)}`;
}

export function isGuidedMerge(p: PauseState | null | undefined): p is PauseState {
  return !!p && p.reason.startsWith(GUIDED_MERGE_REASON);
}

/** Why no sync may run now (a guided-merge file still has markers), or null. */
export async function guidedMergeBlocker(root: string, paused: PauseState | null | undefined): Promise<string | null> {
  if (!isGuidedMerge(paused)) return null;
  for (const path of paused.paths) {
    const text = await fs.readFile(join(root, path), 'utf8').catch(() => null);
    const lines = text === null ? [] : markerLines(text);
    if (lines.length)
      return `${path} still has conflict markers from "conflicts --merge" (line ${lines.slice(0, 5).join(', ')}); not syncing them. Edit them out, then run: ${conflictsCommand('--resolve', path)}`;
  }
  return null;
}
