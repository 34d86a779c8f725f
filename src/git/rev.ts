/** Small revision helpers and constants shared by the commit and integration steps. */
import type { Git } from './git.js';

/** Every commit we write is fsynced: git does not fsync loose objects by default. */
export const COMMIT_CONFIG = ['core.fsync=committed'];

/** Commits `local` has that `remote` lacks, and the other way round. */
export async function aheadBehind(git: Git, local: string, remote: string): Promise<{ ahead: number; behind: number }> {
  const res = await git.run(['rev-list', '--left-right', '--count', `${local}...${remote}`], { readOnly: true });
  const [ahead = '0', behind = '0'] = res.stdout.trim().split(/\s+/);
  return { ahead: Number(ahead), behind: Number(behind) };
}

/** git's empty tree (a constant of the object format, SHA-1). */
export const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
