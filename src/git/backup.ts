/**
 * Backup refs: before any step that can rewrite or drop commits (rebase, merge, reset,
 * abort) the pre-step HEAD is saved as `refs/sync-coordinator/backup/<op-id>`.
 */
import type { Git } from './git.js';

export const BACKUP_PREFIX = 'refs/sync-coordinator/backup/';

export async function saveBackup(git: Git, opId: string, what: string): Promise<string> {
  const ref = `${BACKUP_PREFIX}${opId}`;
  await git.run(['update-ref', '-m', `sync-coordinator backup before ${what}`, ref, 'HEAD']);
  return ref;
}

/** Keep the newest `keep` backups and none older than `maxAgeDays` (the current op's is kept). */
export async function pruneBackups(git: Git, keep: number, maxAgeDays: number, now = Date.now()): Promise<number> {
  const res = await git.run(['for-each-ref', '--sort=-creatordate', '--format=%(refname)%09%(creatordate:unix)', BACKUP_PREFIX], { readOnly: true });
  const rows = res.stdout.split('\n').filter(Boolean).map((l) => {
    const [ref = '', ts = '0'] = l.split('\t');
    return { ref, ts: Number(ts) * 1000 };
  });
  const cutoff = now - maxAgeDays * 86_400_000;
  const doomed = rows.filter((r, i) => i >= keep || r.ts < cutoff).map((r) => r.ref);
  if (doomed.length === 0) return 0;
  await git.run(['update-ref', '--stdin'], { input: doomed.map((r) => `delete ${r}\n`).join('') });
  return doomed.length;
}
