/**
 * Open conflicts as every device sees them. conflicts.log is per device: a copy made on
 * another device arrives as a tracked `*.sync-conflict-*` file and is in no local log.
 * The tree is the truth that syncs: a conflict copy is open while it is tracked, and
 * closed everywhere once its deletion is synced (by `conflicts --resolve` or by hand).
 * `left-for-user` conflicts (policy manual) leave no file and stay log-based.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ConflictRecord } from './conflict-log.js';
import { openConflicts } from './conflict-log.js';
import type { Git } from './git.js';
import { isConflictCopy, parseConflictCopy } from './conflict-copy.js';

export interface TreeCopy {
  /** The copy's path (tracked). */
  path: string;
  /** The file it belongs beside. */
  original: string;
  device: string;
  /** When it was made, ISO (UTC), from its name. */
  made_at: string;
  /** The local conflicts.log record, when this device made it. */
  op: string | null;
}

export interface ConflictsView {
  /** Log records still open: left for the user, or a copy that is still in the tree. */
  open: ConflictRecord[];
  /** Every conflict copy tracked in the tree, this device's and other devices'. */
  copies: TreeCopy[];
  /** Open conflicts, each counted once: `left-for-user` records + copies in the tree. */
  count: number;
}

/**
 * Tracked conflict copies still in the work tree (`git ls-files`: read-only, outside the
 * lock). A copy deleted here and not yet synced is already resolved on this device.
 */
export async function listTrackedCopies(git: Git): Promise<string[]> {
  const res = await git.run(['ls-files', '-z'], { readOnly: true, timeoutMs: 30_000 });
  const copies = res.stdout.split('\0').filter((p) => p && isConflictCopy(p));
  const present = await Promise.all(
    copies.map((p) =>
      fs.lstat(join(git.cwd, p)).then(
        () => true,
        () => false,
      ),
    ),
  );
  return copies.filter((_, i) => present[i]);
}

function stampToIso(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(stamp);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z` : stamp;
}

/** Pure: the log's records and the tracked copies → what is open. */
export function conflictsView(logText: string, tracked: readonly string[]): ConflictsView {
  const inTree = new Set(tracked);
  const logged = openConflicts(logText);
  const byCopy = new Map(logged.filter((c) => c.copy_path).map((c) => [c.copy_path!, c]));
  const open = logged.filter((c) => c.outcome === 'left-for-user' || (c.copy_path !== null && inTree.has(c.copy_path)));
  const copies: TreeCopy[] = [];
  for (const path of tracked) {
    const p = parseConflictCopy(path);
    if (!p) continue;
    copies.push({ path, original: p.original, device: p.device, made_at: stampToIso(p.stamp), op: byCopy.get(path)?.op ?? null });
  }
  copies.sort((a, b) => (a.made_at < b.made_at ? 1 : a.made_at > b.made_at ? -1 : a.path.localeCompare(b.path)));
  const leftForUser = open.filter((c) => c.outcome === 'left-for-user').length;
  return { open, copies, count: leftForUser + copies.length };
}

export async function readConflictsView(git: Git, logText: string): Promise<ConflictsView> {
  const tracked = await listTrackedCopies(git);
  // A copy that `conflicts undo` wrote is open from the start: it is in the work tree and
  // the log, and tracked only once the next sync has committed it.
  const known = new Set(tracked);
  const pending = openConflicts(logText).filter((c) => c.undo_of && c.copy_path && !known.has(c.copy_path) && isConflictCopy(c.copy_path));
  const present = await Promise.all(
    pending.map((c) =>
      fs.lstat(join(git.cwd, c.copy_path!)).then(
        (st) => st.isFile(),
        () => false,
      ),
    ),
  );
  return conflictsView(logText, [...tracked, ...pending.filter((_, i) => present[i]).map((c) => c.copy_path!)]);
}
