/**
 * Whether anything is at `path` (a file, a directory, a symlink, even a dangling one),
 * without following a symlink: `existsSync` follows it and calls a dangling link absent,
 * which for a work-tree path would mean overwriting or missing the user's link.
 */
import { lstatSync } from 'node:fs';

export function existsNoFollow(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
