/**
 * Auto-merges made reviewable and reversible (DESIGN.md section 13):
 *
 * - `conflicts --merged [--limit n]`: the auto-merges this device recorded, newest first.
 * - `conflicts show <path>`: what each side changed against the base, for the most recent
 *   auto-merge of `<path>` (or its open conflict copy): two unified diffs, labelled with
 *   the devices (computed by core/conflict-diff.ts, which the dashboard shares).
 * - `conflicts undo <path>`: the side the merge folded in is written beside the file as a
 *   conflict copy (`<name>.sync-conflict-<stamp>-<device>.<ext>`) and logged as one; the
 *   file keeps the merged text. The next sync commits and pushes the copy.
 *
 * Paths and contents are data: a path reaches git only after `--` with literal
 * pathspecs, or behind a commit id (`<commit>:<path>`); blobs are named by id.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { appendConflict, autoMerges, type AutoMergeEntry } from '../../git/conflict-log.js';
import { introducedBy, OID } from '../../git/blob-history.js';
import { conflictDiff, latestMerge, noMerge, requireBlobs, type DiffSide } from '../../core/conflict-diff.js';
import { newOpId } from '../../core/coordinator.js';
import { UsageError } from '../../shared/errors.js';
import { conflictsCommand, markerLines } from '../../core/guided-merge.js';
import { acquireLock } from '../../core/lock.js';
import { existsNoFollow } from '../../shared/exists-no-follow.js';
import { stripControl } from '../../shared/sanitize.js';
import { conflictStamp, pickConflictCopyPath } from '../../git/conflict-copy.js';
import type { ConflictsView } from '../../git/tree-conflicts.js';
import type { CommandContext } from '../context.js';
import { MERGED_LIMIT } from '../numeric-option.js';

/** `conflicts --merged`: recent auto-merges, newest first. */
export function listMerged(ctx: CommandContext, logText: string, limit: number, json: boolean): number {
  const all = autoMerges(logText);
  const shown = all.slice(0, limit);
  if (json) {
    ctx.out(JSON.stringify({ merged: shown.map(publicEntry), count: all.length, shown: shown.length }));
    return 0;
  }
  if (shown.length === 0) {
    ctx.out('no auto-merges recorded');
    return 0;
  }
  for (const m of shown) {
    const undone = m.undone ? `  UNDONE: other side kept as ${m.undone.copy_path}` : '';
    ctx.out(`${m.time}  ${m.path}  [${m.strategy ?? '?'}, ${m.hunks ?? 0} hunk(s)]  on ${m.device}  (op ${m.op})${undone}`);
  }
  if (all.length > shown.length) ctx.out(`(${all.length - shown.length} older; --limit ${Math.min(all.length, MERGED_LIMIT.max)} shows them)`);
  const first = shown.find((m) => !m.undone) ?? shown[0]!;
  ctx.out(`to see what each side changed: ${reviewCommand('show', first.path)}`);
  ctx.out(`to keep the other side as a conflict copy: ${reviewCommand('undo', first.path)}`);
  return 0;
}

function publicEntry(m: AutoMergeEntry) {
  return {
    path: m.path,
    time: m.time,
    op: m.op,
    device: m.device,
    strategy: m.strategy ?? null,
    hunks: m.hunks ?? null,
    base_blob: m.base_blob ?? null,
    local_blob: m.local_blob ?? null,
    remote_blob: m.remote_blob ?? null,
    merged_blob: m.merged_blob ?? null,
    undone: m.undone,
  };
}

/** A command to paste; `--` keeps a path like `-x` a path. */
export function reviewCommand(sub: 'show' | 'undo', path: string): string {
  return `sync-coordinator conflicts ${sub} -- ${shellQuote(path)}`;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./@%+=:,-]+$/.test(s) && !s.startsWith('-') ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------- show

export async function show(ctx: CommandContext, path: string, logText: string, view: ConflictsView, json: boolean): Promise<number> {
  const ws = await ctx.stateWorkspace();
  const diff = await conflictDiff(ws.git, path, logText, view);
  if (json) {
    ctx.out(JSON.stringify(diff.json));
    return 0;
  }
  for (const line of diff.header) ctx.out(line);
  for (const side of diff.sides) printDiff(ctx, diff.path, side);
  return 0;
}

function printDiff(ctx: CommandContext, path: string, side: DiffSide): void {
  ctx.out('');
  ctx.out(`--- ${path} (base)`);
  ctx.out(`+++ ${path} (${side.label})`);
  if (!side.diff) ctx.out('(no change against the base)');
  // File contents are untrusted: control characters never reach the terminal.
  // A diff keeps its tabs: the raw variant, control characters stripped here.
  else for (const line of side.diff.replace(/\n$/, '').split('\n')) ctx.outRaw(stripControl(line));
}

// ---------------------------------------------------------------- undo

export async function undo(ctx: CommandContext, path: string, logText: string, json: boolean): Promise<number> {
  const m = latestMerge(logText, path);
  if (!m) throw noMerge(logText, path, '');
  if (m.undone) throw new UsageError(`the auto-merge of ${JSON.stringify(path)} (op ${m.op}) is already undone: its other side is ${m.undone.copy_path}`);
  if (!m.local_blob || !m.remote_blob || !m.merged_blob || !OID.test(m.merged_blob))
    throw new UsageError(
      `the auto-merge of ${JSON.stringify(path)} (op ${m.op}) was recorded without its blob ids; undo it by hand from refs/sync-coordinator/backup/${m.op}`,
    );
  const ws = await ctx.stateWorkspace();
  const git = ws.git;
  await requireBlobs(git, [m.local_blob, m.remote_blob], m);
  // The file keeps the merged text; the side that is not that text goes beside it. That is
  // the local side, unless the merge took it whole (a later snapshot): then the remote's.
  const takeRemote = m.local_blob === m.merged_blob;
  if (takeRemote && m.remote_blob === m.merged_blob)
    throw new UsageError(`the auto-merge of ${JSON.stringify(path)} kept both sides whole; nothing to put back`);
  const sideBlob = takeRemote ? m.remote_blob : m.local_blob;
  const remoteBy = takeRemote ? await introducedBy(git, path, m.remote_blob) : null;
  const device = takeRemote ? (remoteBy?.device ?? 'remote') : m.device;

  const config = await ctx.config();
  const logger = await ctx.logger();
  const lock = await acquireLock(
    { paths: ws.paths, logger, staleMs: config.lock_stale_ms, repo: ws },
    { caller: 'conflicts undo', timeoutMs: config.lock_timeout_ms },
  );
  let copy: string;
  try {
    const abs = join(ws.root, path);
    // Every directory on the way is a real one: a symlink put there since would lead the
    // copy out of the work tree.
    const parts = path.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const dir = await fs.lstat(join(ws.root, ...parts.slice(0, i))).catch(() => null);
      if (!dir?.isDirectory())
        throw new UsageError(
          `${parts.slice(0, i).join('/')} is no longer a directory; the local side of ${path} is still in refs/sync-coordinator/backup/${m.op}`,
        );
    }
    const st = await fs.lstat(abs).catch(() => null);
    // A copy beside a file that is gone or replaced would bring back content the user
    // removed on purpose, with nothing to compare it with.
    if (!st) throw new UsageError(`${path} was deleted after the merge; its local side is still in refs/sync-coordinator/backup/${m.op}`);
    if (!st.isFile()) throw new UsageError(`${path} is no longer a regular file; its local side is still in refs/sync-coordinator/backup/${m.op}`);
    const current = await fs.readFile(abs);
    const marks = markerLines(current.toString('utf8'));
    if (marks.length)
      throw new UsageError(
        `${path} has conflict markers (line ${marks.slice(0, 5).join(', ')}); finish that merge first: ${conflictsCommand('--resolve', path)}`,
      );
    const side = (await git.run(['cat-file', 'blob', sideBlob], { readOnly: true })).stdoutBytes;
    if (current.equals(side)) throw new UsageError(`${path} already holds the ${takeRemote ? "remote's" : 'local'} side of that merge; nothing to put back`);
    const tracked = new Set((await git.run(['ls-files', '-z'], { readOnly: true })).stdout.split('\0').filter(Boolean));
    const now = new Date();
    copy = pickConflictCopyPath(path, conflictStamp(now), device, (p) => tracked.has(p) || existsNoFollow(join(ws.root, p)));
    // `wx`: never over a file that appeared meanwhile.
    await fs.writeFile(join(ws.root, copy), side, { flag: 'wx' });
    appendConflict(ws.paths.conflictsLog, {
      time: now.toISOString(),
      op: newOpId(now.getTime()),
      path,
      policy: 'conflict-copy',
      outcome: 'copy-created',
      copy_path: copy,
      kind: 'content',
      device,
      undo_of: m.op,
    });
    logger.info({ path, copy, undo_of: m.op, side: takeRemote ? 'remote' : 'local' }, 'auto-merge undone: the other side is kept as a conflict copy');
  } finally {
    await lock.release();
  }
  if (json) {
    ctx.out(JSON.stringify({ undone: path, op: m.op, copy_path: copy, side: takeRemote ? 'remote' : 'local', blob: sideBlob }));
    return 0;
  }
  ctx.out(`undid the auto-merge of ${path} (op ${m.op}): ${path} keeps the merged text; the ${takeRemote ? "remote's" : 'local'} side is back as ${copy}`);
  ctx.out(`the next sync pushes it (now: sync-coordinator sync-now); when ${path} has what you want: ${conflictsCommand('--resolve', path)}`);
  return 0;
}
