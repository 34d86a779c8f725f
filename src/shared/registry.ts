/**
 * workspaces.json: the workspaces the user daemon serves. Written atomically (temp +
 * fsync + rename) so a reader (the daemon, another `add`) never sees half a file.
 * Changes are read-modify-write under a short lock beside the file: a setup script that
 * runs `add` for five repositories at once must end with all five registered, not with
 * whichever rename came last.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { quarantine, writeFileAtomic } from './atomic-file.js';
import { workspaceId } from './user-paths.js';

export interface RegistryEntry {
  id: string;
  path: string;
  added_at: string;
}

export interface Registry {
  version: 1;
  workspaces: RegistryEntry[];
}

export async function readRegistry(file: string): Promise<Registry> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, workspaces: [] };
    throw e;
  }
  try {
    const raw = JSON.parse(text) as { workspaces?: unknown };
    if (!raw || !Array.isArray(raw.workspaces)) throw new Error('no "workspaces" array');
    const workspaces: RegistryEntry[] = [];
    for (const w of raw.workspaces as Partial<RegistryEntry>[]) {
      if (typeof w?.path !== 'string' || !w.path.startsWith('/')) continue;
      workspaces.push({ id: workspaceId(w.path), path: w.path, added_at: typeof w.added_at === 'string' ? w.added_at : new Date(0).toISOString() });
    }
    return { version: 1, workspaces };
  } catch {
    // Invariant 10: a corrupt file is moved aside beside itself, never crashes anyone;
    // the user re-adds their workspaces (the message of `list` says so).
    await quarantine(file);
    return { version: 1, workspaces: [] };
  }
}

async function writeRegistry(file: string, reg: Registry): Promise<void> {
  await fs.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, JSON.stringify(reg, null, 2) + '\n', { mode: 0o600 });
}

/**
 * Run a read-modify-write of the registry under its lock. The lock only guards a few
 * milliseconds of work, so a holder that died is taken over after `stale` by
 * proper-lockfile itself; unlike the workspace lock, no git work hangs on it.
 */
async function withRegistryLock<T>(file: string, change: () => Promise<T>): Promise<T> {
  await fs.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const release = await lockfile.lock(file, {
    realpath: false,
    lockfilePath: `${file}.lock`,
    stale: 10_000,
    retries: { retries: 100, minTimeout: 10, maxTimeout: 100, factor: 1.5 },
  });
  try {
    return await change();
  } finally {
    await release().catch(() => {});
  }
}

/** Add a workspace (by its real path); false when it was already there. */
export async function addWorkspace(file: string, realRoot: string, now = Date.now()): Promise<{ added: boolean; entry: RegistryEntry }> {
  return withRegistryLock(file, () => addUnlocked(file, realRoot, now));
}

async function addUnlocked(file: string, realRoot: string, now: number): Promise<{ added: boolean; entry: RegistryEntry }> {
  const reg = await readRegistry(file);
  const found = reg.workspaces.find((w) => w.path === realRoot);
  if (found) return { added: false, entry: found };
  const entry: RegistryEntry = { id: workspaceId(realRoot), path: realRoot, added_at: new Date(now).toISOString() };
  reg.workspaces.push(entry);
  await writeRegistry(file, reg);
  return { added: true, entry };
}

/** Remove by real path or id; the removed entry, or null when it was not registered. */
export async function removeWorkspace(file: string, pathOrId: string): Promise<RegistryEntry | null> {
  return withRegistryLock(file, () => removeUnlocked(file, pathOrId));
}

async function removeUnlocked(file: string, pathOrId: string): Promise<RegistryEntry | null> {
  const reg = await readRegistry(file);
  const found = reg.workspaces.find((w) => w.path === pathOrId || w.id === pathOrId);
  if (!found) return null;
  reg.workspaces = reg.workspaces.filter((w) => w !== found);
  await writeRegistry(file, reg);
  return found;
}
