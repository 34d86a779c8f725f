/**
 * `conflicts --merge <path>`: git's own 3-way merge (`git merge-file`) of a file and
 * its conflict copy, written with markers into the file for the user to edit.
 * The base is the best one history offers (git/blob-history.ts findMergeBase); the
 * output says which base was used.
 */
import { promises as fs } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../shared/errors.js';
import { conflictsCommand, markerLines } from '../../core/guided-merge.js';
import { acquireLock } from '../../core/lock.js';
import { pauseForGuidedMerge } from '../../core/pause.js';
import { openStateStore } from '../../shared/state.js';
import { findMergeBase } from '../../git/blob-history.js';
import { copiesFor } from '../../core/conflict-resolve.js';
import type { ConflictsView } from '../../git/tree-conflicts.js';
import type { CommandContext } from '../context.js';

export async function guidedMerge(ctx: CommandContext, path: string, view: ConflictsView, json: boolean): Promise<number> {
  const copies = copiesFor(view, path);
  if (copies.length === 0) throw new UsageError(`no conflict copy of ${JSON.stringify(path)}; copies: ${view.copies.map((c) => c.path).join(', ') || 'none'}`);
  if (copies.length > 1)
    throw new UsageError(`${path} has ${copies.length} conflict copies; merge one at a time, e.g.: ${conflictsCommand('--merge', copies[0]!.path)}`);
  const copy = copies[0]!;
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const logger = await ctx.logger();
  const abs = (p: string) => join(ws.root, p);
  const [current, other] = await Promise.all([readRegular(abs(copy.original)), readRegular(abs(copy.path))]);
  if (!current)
    throw new UsageError(
      `${copy.original} is not a regular file in the work tree; keep the version you want by hand, then run: ${conflictsCommand('--resolve', copy.path)}`,
    );
  if (!other) throw new UsageError(`${copy.path} is not a regular file in the work tree`);
  if (current.includes(0) || other.includes(0))
    throw new UsageError(`${copy.original} is binary; keep the version you want by hand, then run: ${conflictsCommand('--resolve', copy.original)}`);
  if (markerLines(current.toString('utf8')).length)
    throw new UsageError(`${copy.original} already has conflict markers; edit them out, then run: ${conflictsCommand('--resolve', copy.original)}`);
  const base = await findMergeBase(ws.git, copy.original, copy.path);

  const tmp = await mkdtemp(join(tmpdir(), 'sc-merge-'));
  let merged: Buffer;
  let conflicts: number;
  try {
    const basePath = join(tmp, 'base');
    await writeFile(basePath, base.blob);
    // Absolute paths (never an option); labels are separate argv values.
    const r = await ws.git.run(
      [
        'merge-file',
        '-p',
        '-L',
        copy.original,
        '-L',
        base.commit ? `base ${base.commit.slice(0, 10)}` : 'base (empty)',
        '-L',
        copy.path,
        abs(copy.original),
        basePath,
        abs(copy.path),
      ],
      { readOnly: true, okCodes: Array.from({ length: 127 }, (_, i) => i + 1), timeoutMs: 60_000 },
    );
    merged = r.stdoutBytes;
    conflicts = r.code;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }

  const lock = await acquireLock(
    { paths: ws.paths, logger, staleMs: config.lock_stale_ms, repo: ws },
    { caller: 'conflicts --merge', timeoutMs: config.lock_timeout_ms },
  );
  try {
    // Paused first: a sync between the write and the pause would spread the markers.
    await pauseForGuidedMerge(await openStateStore(ws.paths.state, logger), copy.original, Date.now());
    await fs.writeFile(abs(copy.original), merged);
    logger.info({ path: copy.original, copy: copy.path, conflicts, base: base.commit }, 'guided merge written to the work tree; automatic syncs paused');
  } finally {
    await lock.release();
  }
  const resolveCmd = conflictsCommand('--resolve', copy.original);
  if (json) {
    ctx.out(
      JSON.stringify({
        path: copy.original,
        copy: copy.path,
        conflicts,
        base: { commit: base.commit, description: base.description },
        paused: true,
        next: resolveCmd,
      }),
    );
    return 0;
  }
  ctx.out(
    `merged ${copy.path} into ${copy.original}: ${conflicts ? `${conflicts} conflict(s) marked with <<<<<<< / >>>>>>>` : 'no conflicting lines; review the result'}`,
  );
  ctx.out(`base: ${base.description}`);
  ctx.out('automatic syncs are paused until you resolve it');
  ctx.out(`edit ${copy.original}, then run: ${resolveCmd}`);
  return 0;
}

async function readRegular(path: string): Promise<Buffer | null> {
  const st = await fs.lstat(path).catch(() => null);
  if (!st?.isFile()) return null;
  return fs.readFile(path);
}
