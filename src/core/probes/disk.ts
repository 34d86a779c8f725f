/**
 * The one free-space probe, shared by the daemon's health check (which pauses syncs
 * below the floor) and `doctor` (which fails below it): one floor, one way to read it.
 */
import { promises as fs } from 'node:fs';

/** Below this much free space syncs pause (a commit or fetch on a full disk corrupts more than it saves). */
export const MIN_FREE_BYTES = 100 * 1024 * 1024;

export type Statfs = (path: string) => Promise<{ bavail: number | bigint; bsize: number | bigint }>;

export type DiskProbe = { free_bytes: number; error: null } | { free_bytes: null; error: string };

/** Bytes available to an unprivileged user on the file system of `path`, or why they cannot be read. */
export async function probeDisk(path: string, statfs: Statfs = (p) => fs.statfs(p)): Promise<DiskProbe> {
  try {
    const st = await statfs(path);
    return { free_bytes: Number(st.bavail) * Number(st.bsize), error: null };
  } catch (e) {
    return { free_bytes: null, error: (e as Error).message };
  }
}
