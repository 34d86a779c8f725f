/**
 * The human listing of `conflicts`, shared by the CLI and the control-socket client
 * (which gets the same view as JSON from the daemon): loads nothing heavy. The lines
 * are raw; both printers make each line printable.
 */
import type { ConflictRecord } from '../git/conflict-log.js';
import { conflictsCommand as command } from '../core/guided-merge.js';
import type { ConflictsView } from '../git/tree-conflicts.js';

export function conflictLines(view: ConflictsView, all: ConflictRecord[] | null): string[] {
  const out: string[] = [];
  const logged = all ?? view.open;
  const fromElsewhere = view.copies.filter((c) => !view.open.some((r) => r.copy_path === c.path));
  if (logged.length === 0 && fromElsewhere.length === 0) return [all ? 'no conflicts recorded' : 'no open conflicts'];
  for (const c of logged) {
    const state = view.open.includes(c) ? 'OPEN' : 'done';
    const detail = c.copy_path
      ? `your version kept as ${c.copy_path}`
      : c.outcome === 'left-for-user'
        ? 'left for you (sync aborted, nothing changed)'
        : c.outcome === 'kept-modified'
          ? 'the edited side kept over the deletion'
          : 'local version kept';
    out.push(`${state}  ${c.time}  ${c.path}  [${c.kind}, ${c.policy}]  ${detail}  (op ${c.op})`);
  }
  for (const c of fromElsewhere) out.push(`OPEN  ${c.made_at}  ${c.original}  [conflict copy from device ${c.device}]  its version kept as ${c.path}`);
  const first = view.copies[0];
  if (first) {
    out.push(`to merge a copy into its file: ${command('--merge', first.path)}  (then edit ${first.original})`);
    out.push(
      `when the file has what you want: ${command('--resolve', first.original)}  (deletes its conflict copies; the next sync removes them on every device)`,
    );
  } else {
    const left = view.open.find((c) => c.outcome === 'left-for-user');
    if (left) out.push(`when you have merged the file by hand: ${command('--resolve', left.path)}`);
  }
  return out;
}

/** What `conflicts --resolve` prints for a resolution (`r` as resolveConflict returns it). */
export function resolveLines(r: { resolved: string; resumed: boolean; removed?: string[] }): string[] {
  const out = [`marked ${r.resolved} resolved${r.resumed ? '; automatic syncs resumed' : ''}`];
  if (r.removed?.length)
    out.push(
      `removed ${r.removed.join(', ')}; the next sync removes ${r.removed.length === 1 ? 'it' : 'them'} on every device (now: sync-coordinator sync-now)`,
    );
  return out;
}
