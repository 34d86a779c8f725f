/**
 * History records as the API serves them: each with the files its sync changed, the
 * diff of its HEAD before and after. Commits never change, so a diff is computed once
 * per pair (a bounded memo) with a read-only git outside the lock, and nothing of it
 * runs while a sync holds the lock.
 */
import type { HistoryRecord } from '../core/history.js';
import type { Workspace } from '../git/workspace.js';

/** Files listed per record; the count is always exact. */
const MAX_FILES = 200;
const MEMO_SIZE = 2000;
const memo = new Map<string, string[]>();

export type HistoryView = HistoryRecord & { files_changed: string[]; files_changed_count: number };

export async function withFilesChanged(ws: Workspace, records: HistoryRecord[]): Promise<HistoryView[]> {
  const out: HistoryView[] = [];
  for (const r of records) {
    const files = await changedFiles(ws, r.head_before, r.head_after).catch(() => []);
    out.push({ ...r, files_changed: files.slice(0, MAX_FILES), files_changed_count: files.length });
  }
  return out;
}

async function changedFiles(ws: Workspace, before: string | null, after: string | null): Promise<string[]> {
  const hex = /^[0-9a-f]{40,64}$/;
  if (!before || !after || before === after || !hex.test(before) || !hex.test(after)) return [];
  const key = `${before}..${after}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const r = await ws.git.run(['diff', '--name-only', '-z', '--no-renames', before, after, '--'], { readOnly: true, okCodes: [128], timeoutMs: 30_000 });
  const files = r.code === 0 ? r.stdout.split('\0').filter(Boolean) : [];
  if (r.code === 0) {
    memo.set(key, files);
    if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
  }
  return files;
}
