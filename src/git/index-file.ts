/**
 * The user's index and the sync's private ones (invariant 4: "a sync that fails leaves the
 * user's index exactly as it found it").
 *
 * A sync never stages into the user's index. It copies it (for the stat cache) to a
 * private file under `<git dir>/sync-coordinator/` and points `GIT_INDEX_FILE` there. The
 * user's index changes only in `move.ts`, under git's own `index.lock` protocol: create
 * `index.lock` exclusively, write the new index beside it, rename it over `index`. A
 * killed sync therefore leaves at most a private index file (swept by the next run) and
 * unreferenced objects.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { GitLockedError } from '../shared/errors.js';

export function privateDir(gitDir: string): string {
  return join(gitDir, 'sync-coordinator');
}

/** A private index path for this op; `purpose` keeps the files of one op apart. */
export function privateIndexPath(gitDir: string, opId: string, purpose: string): string {
  return join(privateDir(gitDir), `index-${opId}-${purpose}`);
}

export interface IndexSnapshot {
  /** The user's index bytes when the sync read them (null: no index file yet). */
  bytes: Buffer | null;
  /** A digest of those bytes: the user's index is "unchanged" while it still matches. */
  digest: string;
  /**
   * The index file's mtime. A copy must carry it: git's racy-clean check compares each
   * entry's mtime with the index file's, and a copy with a newer mtime would make an
   * entry whose file changed in the same second (same size) look clean, so `add` would
   * skip that change and `read-tree -u` could overwrite it.
   */
  mtime: Date | null;
}

function digestOf(bytes: Buffer | null): string {
  return bytes ? createHash('sha1').update(bytes).digest('hex') : 'none';
}

export async function readUserIndex(gitDir: string): Promise<IndexSnapshot> {
  const file = join(gitDir, 'index');
  for (;;) {
    try {
      const before = await fs.stat(file);
      const bytes = await fs.readFile(file);
      const after = await fs.stat(file);
      // Read between two identical stats: the mtime belongs to these bytes (git replaces
      // the index by rename, so a change shows as a new inode or mtime).
      if (before.ino !== after.ino || before.mtimeMs !== after.mtimeMs || after.size !== bytes.length) continue;
      return { bytes, digest: digestOf(bytes), mtime: after.mtime };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { bytes: null, digest: digestOf(null), mtime: null };
      throw e;
    }
  }
}

/** Writes `snapshot` as a private index (no file at all when the user has none). */
export async function writePrivateIndex(file: string, snapshot: IndexSnapshot): Promise<void> {
  await fs.mkdir(join(file, '..'), { recursive: true });
  await fs.rm(file, { force: true });
  await fs.rm(`${file}.lock`, { force: true });
  if (snapshot.bytes) {
    await fs.writeFile(file, snapshot.bytes);
    // Never newer than the original (a rounded-down mtime only makes more entries racy,
    // which git then checks by content: slower, never wrong).
    if (snapshot.mtime) await fs.utimes(file, snapshot.mtime, new Date(Math.floor(snapshot.mtime.getTime()) - 1));
  }
}

export async function removeQuiet(...files: string[]): Promise<void> {
  await Promise.all(files.map((f) => fs.rm(f, { force: true }).catch(() => {})));
}

/**
 * Private files of syncs that are no longer running (a kill leaves them). Only files of
 * other ops: the caller holds the workspace lock, so no other op of ours is running.
 */
export async function sweepPrivateFiles(gitDir: string, currentOp: string | null): Promise<string[]> {
  const dir = privateDir(gitDir);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const doomed = names.filter((n) => /^(index|msg|merge)-/.test(n) && (currentOp === null || !n.includes(currentOp)));
  await Promise.all(doomed.map((n) => fs.rm(join(dir, n), { recursive: true, force: true }).catch(() => {})));
  return doomed;
}

/** Git's lock on the user's index, held the way git holds it (O_EXCL create). */
export interface UserIndexLock {
  readonly file: string;
  /** Replace the user's index with `newIndex` (renamed, so it is atomic) and drop the lock. */
  commit(newIndex: string): Promise<void>;
  release(): Promise<void>;
}

export async function lockUserIndex(gitDir: string): Promise<UserIndexLock> {
  const file = join(gitDir, 'index.lock');
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new GitLockedError(`another git process holds ${file} (the user's git is working on the index; transient: retried while retries last)`, e);
    }
    throw e;
  }
  await handle.close();
  let held = true;
  return {
    file,
    async commit(newIndex: string) {
      await fs.rename(newIndex, join(gitDir, 'index'));
      held = false;
      await fs.rm(file, { force: true });
    },
    async release() {
      if (!held) return;
      held = false;
      await fs.rm(file, { force: true });
    },
  };
}

/**
 * Does the index hold unmerged entries (stage > 0)? Read from its bytes (formats 2 and 3,
 * DESIGN-free git index format: 62-byte entry header, flags with the stage in bits
 * 12-13, NUL-padded path); null for a format this does not read (4, split index), where
 * the caller asks git. Invariant 4: a conflict that appears after preflight (a stash pop)
 * must stop the sync before it stages anything.
 */
export function indexHasUnmerged(index: Buffer | null): boolean | null {
  if (!index) return false;
  if (index.length < 12 || index.toString('latin1', 0, 4) !== 'DIRC') return null;
  const version = index.readUInt32BE(4);
  if (version !== 2 && version !== 3) return null;
  const count = index.readUInt32BE(8);
  let at = 12;
  for (let i = 0; i < count; i++) {
    if (at + 62 > index.length) return null;
    const flags = index.readUInt16BE(at + 60);
    if ((flags >> 12) & 0x3) return true;
    const extended = version === 3 && (flags & 0x4000) !== 0;
    const nameStart = at + 62 + (extended ? 2 : 0);
    const nul = index.indexOf(0, nameStart);
    if (nul < 0) return null;
    const entryLen = nul - at;
    at += (entryLen + 8) & ~7;
  }
  return false;
}
