/**
 * Closing one open conflict (`conflicts --resolve <path>` and
 * `POST /api/v1/workspaces/{id}/conflicts/resolve`): one implementation, so the CLI and
 * the API validate the same way and change the same things. The path is a file or one of
 * its conflict copies; its copies are deleted from the work tree (they stay in history
 * and the backup refs) so the next sync closes it on every device, the resolution is
 * logged, and a pause that waited only for it ends.
 */
import { promises as fs } from 'node:fs';
import type { Config } from '../shared/config.js';
import { appendConflict } from '../git/conflict-log.js';
import { UsageError } from '../shared/errors.js';
import { conflictsCommand as command, markerLines } from './guided-merge.js';
import { acquireLock } from './lock.js';
import { hasControl } from '../shared/sanitize.js';
import { resolveEndsPause } from './pause.js';
import { openStateStore } from '../shared/state.js';
import type { Workspace } from '../git/workspace.js';
import type { ConflictsView, TreeCopy } from '../git/tree-conflicts.js';
import type { Logger } from '../shared/log.js';

export interface ResolveResult {
  resolved: string;
  resumed: boolean;
  removed?: string[];
}

/** A path as `conflicts` shows it: printable, at most 4 KiB, `./` dropped. `opt` names the option or field in the error. */
export function checkConflictPath(opt: string, path: string): string {
  if (!path || hasControl(path) || Buffer.byteLength(path) > 4096) throw new UsageError(`${opt} needs a path as shown by "sync-coordinator conflicts"`);
  return path.replace(/^\.\//, '');
}

/** The copies a path names: the copy itself, or every copy of a file. */
export function copiesFor(view: ConflictsView, path: string): TreeCopy[] {
  const exact = view.copies.filter((c) => c.path === path);
  return exact.length ? exact : view.copies.filter((c) => c.original === path);
}

export async function resolveConflict(o: {
  ws: Workspace;
  config: Config;
  logger: Logger;
  path: string;
  view: ConflictsView;
  caller?: string;
}): Promise<ResolveResult> {
  const { ws, config, logger, path, view } = o;
  const leftForUser = view.open.find((c) => c.path === path && c.outcome === 'left-for-user');
  const copies = copiesFor(view, path);
  if (!leftForUser && copies.length === 0) {
    const open = [...new Set([...view.open.filter((c) => c.outcome === 'left-for-user').map((c) => c.path), ...view.copies.map((c) => c.original)])];
    throw new UsageError(`no open conflict at ${JSON.stringify(path)}; open: ${open.join(', ') || 'none'}`);
  }
  const original = copies[0]?.original ?? path;
  // A guided merge leaves markers in the file: resolving it while they are there would
  // let the next sync spread them to every device.
  if (copies.length) {
    const current = await fs.readFile(`${ws.root}/${original}`, 'utf8').catch(() => null);
    const markers = current === null ? [] : markerLines(current);
    if (markers.length)
      throw new UsageError(
        `${original} still has conflict markers (line ${markers.slice(0, 5).join(', ')}); edit them out, then run: ${command('--resolve', path)}`,
      );
    // The copy is deleted: refuse when it holds edits that no sync has kept yet.
    const changed = await ws.git.run(['diff', '--name-only', '-z', 'HEAD', '--', ...copies.map((c) => c.path)], {
      readOnly: true,
      literalPaths: true,
      timeoutMs: 30_000,
    });
    const dirty = changed.stdout.split('\0').filter(Boolean);
    if (dirty.length)
      throw new UsageError(
        `${dirty[0]} has changes that are not synced yet; copy what you need into ${original}, sync, then run: ${command('--resolve', path)}`,
      );
  }
  const lock = await acquireLock(
    { paths: ws.paths, logger, staleMs: config.lock_stale_ms, repo: ws },
    { caller: o.caller ?? 'conflicts --resolve', timeoutMs: config.lock_timeout_ms },
  );
  let resumed = false;
  const removed: string[] = [];
  try {
    for (const c of copies) {
      await fs.rm(`${ws.root}/${c.path}`, { force: true });
      removed.push(c.path);
    }
    const now = new Date().toISOString();
    appendConflict(ws.paths.conflictsLog, { time: now, resolved: path });
    if (original !== path) appendConflict(ws.paths.conflictsLog, { time: now, resolved: original });
    const store = await openStateStore(ws.paths.state, logger);
    const left = view.open.filter((c) => c.path !== path && c.path !== original && c.outcome === 'left-for-user');
    if (resolveEndsPause(store.get().paused, left.length, original)) {
      await store.update((s) => {
        s.paused = null;
      });
      resumed = true;
    }
    logger.info({ path, removed, resumed }, 'conflict marked resolved');
  } finally {
    await lock.release();
  }
  return { resolved: path, resumed, ...(removed.length ? { removed } : {}) };
}
