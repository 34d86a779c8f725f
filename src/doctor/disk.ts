/** Free disk space where the work tree lives: warn below 1 GB, fail below the floor at which the daemon pauses syncs (100 MB). */
import { MIN_FREE_BYTES, probeDisk } from '../core/probes/disk.js';
import { fail, formatBytes, ok, warn, type CheckResult } from './types.js';

const NAME = 'disk space';
export const WARN_BYTES = 1024 ** 3;

export function judgeDisk(freeBytes: number, where: string): CheckResult {
  const free = `${formatBytes(freeBytes)} free on the file system of ${where}`;
  const fix = 'free some space (git gc, remove build outputs, empty the trash)';
  if (freeBytes < MIN_FREE_BYTES) return fail(NAME, `${free}; commits, state files and logs may fail to write`, fix);
  if (freeBytes < WARN_BYTES) return warn(NAME, `${free}; below 1 GB`, fix);
  return ok(NAME, free);
}

export async function checkDisk(root: string): Promise<CheckResult> {
  const probe = await probeDisk(root);
  if (probe.free_bytes === null) return warn(NAME, `cannot read the free space of ${root}: ${probe.error}`, null);
  return judgeDisk(probe.free_bytes, root);
}
