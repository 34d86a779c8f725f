/** Free disk space where the work tree lives: warn below 1 GB, fail below 100 MB. */
import { promises as fs } from 'node:fs';
import { fail, formatBytes, ok, warn, type CheckResult } from './types.js';

const NAME = 'disk space';
export const WARN_BYTES = 1024 ** 3;
export const FAIL_BYTES = 100 * 1024 ** 2;

export function judgeDisk(freeBytes: number, where: string): CheckResult {
  const free = `${formatBytes(freeBytes)} free on the file system of ${where}`;
  const fix = 'free some space (git gc, remove build outputs, empty the trash)';
  if (freeBytes < FAIL_BYTES) return fail(NAME, `${free}; commits, state files and logs may fail to write`, fix);
  if (freeBytes < WARN_BYTES) return warn(NAME, `${free}; below 1 GB`, fix);
  return ok(NAME, free);
}

export async function checkDisk(root: string): Promise<CheckResult> {
  try {
    const st = await fs.statfs(root);
    return judgeDisk(Number(st.bavail) * Number(st.bsize), root);
  } catch (e) {
    return warn(NAME, `cannot read the free space of ${root}: ${(e as Error).message}`, null);
  }
}
