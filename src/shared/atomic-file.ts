/**
 * Atomic, durable file writes: temp file opened O_EXCL in the same directory, written,
 * fsynced, renamed over the target, then the directory fsynced.
 *
 * Why not write-file-atomic 7: it never fsyncs the parent directory (a power loss can
 * lose the rename), and its temp names are only unique within one process; these ~40
 * lines do exactly what invariant 2 needs and nothing else.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export async function writeFileAtomic(target: string, data: string, opts: { mode?: number; fsync?: boolean; fsyncDir?: boolean } = {}): Promise<void> {
  const tmp = tempPathFor(target);
  const handle = await fs.open(tmp, 'wx', opts.mode ?? 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    if (opts.fsync !== false) await handle.sync();
  } catch (e) {
    await handle.close().catch(() => {});
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  try {
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  if (opts.fsyncDir !== false) await fsyncDir(dirname(target));
}

export async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | null = null;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    /* some file systems refuse to fsync a directory; the rename is still atomic */
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Move a corrupt file aside as `<name>.corrupt-<ts>` (invariant 10); returns the new path. */
export async function quarantine(path: string): Promise<string | null> {
  const ts = new Date().toISOString().replace(/[:.]/g, '-');
  const dest = `${path}.corrupt-${ts}`;
  try {
    await fs.rename(path, dest);
    return dest;
  } catch {
    return null;
  }
}
