/**
 * What the coordinator remembers (coordinator-state.json, conflicts.log): automatic
 * syncs paused by a conflict, the remote's circuit breaker open, the last sync failed,
 * conflict copies still waiting for a hand merge, or a corrupt state file.
 */
import { promises as fs } from 'node:fs';
import { effectiveState } from '../core/breaker.js';
import { openConflicts } from '../git/conflict-log.js';
import { emptyState, readState, type CoordinatorState } from '../shared/state.js';
import { ok, warn, type CheckResult } from './types.js';
import type { Git } from '../git/git.js';
import { readConflictsView } from '../git/tree-conflicts.js';

export async function readStateFacts(file: string): Promise<{ state: CoordinatorState; corrupt: boolean }> {
  let corrupt = false;
  try {
    JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    corrupt = (e as NodeJS.ErrnoException).code !== 'ENOENT';
  }
  // readState without a logger only reads; a corrupt file reads as a fresh state.
  const state = await readState(file, null).catch(() => null);
  return { state: state ?? emptyState(), corrupt: corrupt || state === null };
}

export function judgeSyncState(s: CoordinatorState, corrupt: boolean, remote: string, now = Date.now()): CheckResult {
  const NAME = 'sync state';
  if (corrupt) return warn(NAME, 'coordinator-state.json is corrupt; the next sync moves it aside and starts with fresh stats', 'sync-coordinator process');
  if (s.paused) {
    return warn(
      NAME,
      `automatic syncs paused since ${s.paused.since}: ${s.paused.reason}`,
      'merge the file(s) by hand, then: sync-coordinator conflicts --resolve <path>  (or sync-coordinator sync-now)',
    );
  }
  const b = s.breakers[remote];
  if (b && effectiveState(b, now) === 'open') {
    return warn(
      NAME,
      `remote "${remote}" skipped until ${b.open_until} after ${b.failures} network failures${b.last_error ? ` (last: ${b.last_error})` : ''}; syncs commit locally meanwhile`,
      'check the network; the next sync after that time tries the remote again',
    );
  }
  const last = s.last_op;
  if (last && last.result === 'failed') {
    return warn(
      NAME,
      `the last sync (${last.type}, op ${last.op}, ${last.finished_at}) failed: ${last.message}`,
      'sync-coordinator daemon logs  (then sync-coordinator sync-now to retry)',
    );
  }
  const st = s.stats;
  return ok(NAME, `last success ${st.last_success_at ?? 'never'}; ${st.syncs_ok} syncs ok, ${st.syncs_failed} failed`);
}

export async function checkConflicts(file: string, git?: Git): Promise<CheckResult> {
  const NAME = 'conflicts';
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  // With git: every conflict copy in the tree counts, also those other devices made.
  const view = git ? await readConflictsView(git, text).catch(() => null) : null;
  const paths = view
    ? [...new Set([...view.open.filter((c) => c.outcome === 'left-for-user').map((c) => c.path), ...view.copies.map((c) => c.path)])]
    : openConflicts(text).map((c) => c.path);
  if (paths.length === 0) return ok(NAME, 'none open');
  const shown = paths.slice(0, 3).join(', ') + (paths.length > 3 ? `, and ${paths.length - 3} more` : '');
  return warn(NAME, `${paths.length} open: ${shown}`, 'sync-coordinator conflicts  (after merging: sync-coordinator conflicts --resolve <path>)');
}
