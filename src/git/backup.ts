/**
 * Backup refs: before any step that can rewrite or drop commits (rebase, merge, reset,
 * abort) the pre-step HEAD is saved as `refs/sync-coordinator/backup/<op-id>`; a
 * second backup in the same op gets `<op-id>-2`, `-3`, ... so no backup overwrites an
 * earlier one, and crash recovery's snapshot of the working tree is `<op-id>-worktree`.
 *
 * Pruning uses the backup's creation time, which is encoded in the op id
 * (`YYYYMMDD-HHMMSS-xxxxxx`, UTC). `creatordate` would be the time of the commit the
 * ref points at, which can be months older than the backup.
 */
import type { Git } from './git.js';

export const BACKUP_PREFIX = 'refs/sync-coordinator/backup/';

const OP_TIME = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-[0-9a-f]+/;

/** Creation time (ms) of a backup from its ref name, or null when it has no op-id time. */
export function backupTime(ref: string): number | null {
  const name = ref.startsWith(BACKUP_PREFIX) ? ref.slice(BACKUP_PREFIX.length) : ref;
  const m = OP_TIME.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const t = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(t) ? null : t;
}

/** The op id a backup ref belongs to (`<op-id>`, `<op-id>-2`, `<op-id>-worktree`). */
export function backupOp(ref: string): string | null {
  const name = ref.startsWith(BACKUP_PREFIX) ? ref.slice(BACKUP_PREFIX.length) : ref;
  return OP_TIME.exec(name)?.[0] ?? null;
}

/** Save `rev` (default HEAD) under a fresh backup name of this op; returns the ref. */
export async function saveBackup(git: Git, opId: string, what: string, rev = 'HEAD'): Promise<string> {
  const existing = new Set(await listBackups(git, `${BACKUP_PREFIX}${opId}`));
  let ref = `${BACKUP_PREFIX}${opId}`;
  for (let n = 2; existing.has(ref); n++) ref = `${BACKUP_PREFIX}${opId}-${n}`;
  // The empty old value makes the update fail if the ref appeared meanwhile (never overwrite).
  await git.run(['update-ref', '--create-reflog', '-m', `sync-coordinator backup before ${what}`, ref, rev, '']);
  return ref;
}

async function listBackups(git: Git, prefix: string): Promise<string[]> {
  const res = await git.run(['for-each-ref', '--format=%(refname)', prefix, `${prefix}-*`], { readOnly: true });
  return res.stdout.split('\n').filter(Boolean);
}

export interface BackupRow {
  ref: string;
  /** Creation time in ms, or null when unknown (such refs are pruned by count only). */
  time: number | null;
}

/**
 * Which backups to delete (pure): keep the newest `keep` ops' backups and none older
 * than `maxAgeDays`; the current op's backups are always kept and count as the newest
 * (op ids have 1 s resolution, so a tie must not push the current op past `keep` and
 * keep one op too many). All refs of one op (`<op>`, `<op>-2`, `<op>-worktree`) stay
 * or go together.
 */
export function backupsToPrune(rows: BackupRow[], keep: number, maxAgeDays: number, now: number, currentOp: string | null): string[] {
  const byOp = new Map<string, { time: number | null; refs: string[] }>();
  for (const r of rows) {
    const op = backupOp(r.ref) ?? r.ref;
    const g = byOp.get(op) ?? { time: r.time, refs: [] };
    g.refs.push(r.ref);
    byOp.set(op, g);
  }
  const rank = (op: string, time: number | null): number => (op === currentOp ? Infinity : (time ?? -Infinity));
  const ops = [...byOp.entries()].sort((a, b) => rank(b[0], b[1].time) - rank(a[0], a[1].time));
  const cutoff = now - maxAgeDays * 86_400_000;
  const doomed: string[] = [];
  ops.forEach(([op, g], i) => {
    if (op === currentOp) return;
    if (i >= keep || (g.time !== null && g.time < cutoff)) doomed.push(...g.refs);
  });
  return doomed;
}

/** Delete backups beyond the `backups` config; returns how many refs were deleted. */
export async function pruneBackups(git: Git, keep: number, maxAgeDays: number, now = Date.now(), currentOp: string | null = git.opId): Promise<number> {
  const res = await git.run(['for-each-ref', '--format=%(refname)', BACKUP_PREFIX], { readOnly: true });
  const rows = res.stdout
    .split('\n')
    .filter(Boolean)
    .map((ref) => ({ ref, time: backupTime(ref) }));
  const doomed = backupsToPrune(rows, keep, maxAgeDays, now, currentOp);
  if (doomed.length === 0) return 0;
  await git.run(['update-ref', '--stdin'], { input: doomed.map((r) => `delete ${r}\n`).join('') });
  return doomed.length;
}
