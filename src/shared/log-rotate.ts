/**
 * Size rotation of coordinator.log by rename, done by the daemon only. CLIs append
 * whole lines with O_APPEND and open the file anew on every run, so a rename never
 * loses or splits a line: a CLI that still has the old file open finishes its lines in
 * `coordinator.log.1`. Kept: `coordinator.log` plus `max_files - 1` rotated files.
 */
import { promises as fs } from 'node:fs';

export async function rotateBySize(file: string, maxBytes: number, maxFiles: number): Promise<boolean> {
  let size: number;
  try {
    size = (await fs.stat(file)).size;
  } catch {
    return false;
  }
  if (size < maxBytes) return false;
  const keep = Math.max(1, maxFiles - 1);
  await fs.rm(`${file}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--) {
    await fs.rename(`${file}.${i}`, `${file}.${i + 1}`).catch(() => {});
  }
  await fs.rename(file, `${file}.1`);
  return true;
}

/** Rotated files of `file`, oldest first (for `logs`). */
export async function rotatedFiles(file: string): Promise<string[]> {
  const slash = file.lastIndexOf('/');
  const dir = file.slice(0, slash);
  const base = file.slice(slash + 1);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  return names
    .map((n) => ({ n, m: n.startsWith(`${base}.`) ? /^\d+$/.exec(n.slice(base.length + 1)) : null }))
    .filter((x) => x.m)
    .sort((a, b) => Number(b.m![0]) - Number(a.m![0]))
    .map((x) => `${dir}/${x.n}`);
}
