/**
 * conflicts.log: one JSON line per conflict handled
 * `{time, op, path, policy, outcome, copy_path, kind, device}`, and a
 * `{time, resolved: path}` line when the user marks one resolved. Open = `outcome`
 * "copy-created" or "left-for-user" with no later resolution of the same path.
 *
 * Outcomes: `resolved-ours` (a system file: the local version was kept),
 * `copy-created` (the remote's version is at the path, the local one in `copy_path`),
 * `kept-modified` (delete/modify: the edited side was kept at the path and the other
 * side's deletion undone; nothing to merge by hand, so not open), `left-for-user`
 * (policy manual: the sync was undone).
 */
import { appendFileSync, readFileSync } from 'node:fs';

export interface ConflictRecord {
  time: string;
  op: string;
  path: string;
  policy: 'system-ours' | 'conflict-copy' | 'manual' | 'auto-merge';
  outcome: 'resolved-ours' | 'copy-created' | 'kept-modified' | 'left-for-user' | 'auto-merged';
  copy_path: string | null;
  kind: 'content' | 'delete-modify' | 'rename' | 'binary' | 'add-add' | 'file-directory' | 'other';
  device: string;
  /** auto-merged: the resolver's strategy and how many conflicting hunks it merged. */
  strategy?: string;
  hunks?: number;
  /** text-newest: what the older side had where the newer one was taken. */
  notes?: string[];
  /** auto-merged: the blobs it merged (base null for a file both sides added) and its result. */
  base_blob?: string | null;
  local_blob?: string;
  remote_blob?: string;
  merged_blob?: string;
  /** A copy made by `conflicts undo`: the op of the auto-merge it undid. */
  undo_of?: string;
}

export interface ResolutionRecord {
  time: string;
  resolved: string;
  /** Set when the sync that recorded the conflict was undone (its copy no longer exists). */
  withdrawn_op?: string;
}

export function appendConflict(file: string, rec: ConflictRecord | ResolutionRecord): void {
  appendFileSync(file, JSON.stringify(rec) + '\n');
}

export function parseConflictLog(text: string): Array<ConflictRecord | ResolutionRecord> {
  const out: Array<ConflictRecord | ResolutionRecord> = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const rec = JSON.parse(line) as ConflictRecord | ResolutionRecord;
      if (rec && typeof rec === 'object') out.push(rec);
    } catch {
      /* a torn last line after a crash: skip it */
    }
  }
  return out;
}

/** Conflicts still open, newest first. */
export function openConflicts(text: string): ConflictRecord[] {
  const open = new Map<string, ConflictRecord>();
  for (const rec of parseConflictLog(text)) {
    if ('resolved' in rec) open.delete(rec.resolved);
    else if (rec.outcome === 'copy-created' || rec.outcome === 'left-for-user') open.set(rec.path, rec);
  }
  return [...open.values()].reverse();
}

/**
 * Conflicts are logged the moment they are resolved (so a kill cannot leave a committed
 * conflict copy that `conflicts` never shows). If that integration is then undone — an
 * error, or crash recovery restoring the backup — its records are withdrawn here.
 */
export function withdrawConflictsOfOp(file: string, op: string, time: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const paths = [
    ...new Set(
      parseConflictLog(text)
        .filter((r): r is ConflictRecord => !('resolved' in r) && r.op === op && r.outcome !== 'left-for-user')
        .map((r) => r.path),
    ),
  ];
  for (const path of paths) appendConflict(file, { time, resolved: path, withdrawn_op: op });
  return paths;
}

/** An auto-merge as `conflicts --merged` shows it: undone when `conflicts undo` made its copy. */
export interface AutoMergeEntry extends ConflictRecord {
  undone: { time: string; copy_path: string | null } | null;
}

/**
 * Auto-merges recorded on this device, newest first (pure). A merge whose sync was undone
 * afterwards (its records withdrawn: the merge never reached the branch) is left out.
 */
export function autoMerges(text: string): AutoMergeEntry[] {
  const recs = parseConflictLog(text);
  const withdrawn = new Set<string>();
  const undone = new Map<string, { time: string; copy_path: string | null }>();
  const key = (op: string, path: string) => `${op}\0${path}`;
  for (const r of recs) {
    if ('resolved' in r) {
      if (r.withdrawn_op) withdrawn.add(key(r.withdrawn_op, r.resolved));
    } else if (r.undo_of) undone.set(key(r.undo_of, r.path), { time: r.time, copy_path: r.copy_path });
  }
  const out: AutoMergeEntry[] = [];
  for (const r of recs) {
    if ('resolved' in r || r.outcome !== 'auto-merged' || typeof r.path !== 'string') continue;
    if (withdrawn.has(key(r.op, r.path))) continue;
    out.push({ ...r, undone: undone.get(key(r.op, r.path)) ?? null });
  }
  return out.reverse();
}
