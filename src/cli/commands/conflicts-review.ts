/**
 * Auto-merges made reviewable and reversible (DESIGN.md section 13, issue 13 part 3):
 *
 * - `conflicts --merged [--limit n]`: the auto-merges this device recorded, newest first.
 * - `conflicts show <path>`: what each side changed against the base, for the most recent
 *   auto-merge of `<path>` (or its open conflict copy): two unified diffs, labelled with
 *   the devices. The blobs are exact: the auto-merge record names them (base_blob,
 *   local_blob, remote_blob, merged_blob).
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
import { newOpId } from '../../core/coordinator.js';
import { UsageError } from '../../shared/errors.js';
import { conflictsCommand, markerLines } from '../../core/guided-merge.js';
import { acquireLock } from '../../core/lock.js';
import { existsNoFollow } from '../../shared/exists-no-follow.js';
import { stripControl } from '../../shared/sanitize.js';
import { conflictStamp, pickConflictCopyPath } from '../../git/conflict-copy.js';
import type { Git } from '../../git/git.js';
import type { ConflictsView, TreeCopy } from '../../git/tree-conflicts.js';
import type { CommandContext } from '../context.js';
import { MERGED_LIMIT } from '../numeric-option.js';
import { copiesFor } from './conflicts.js';
import { findMergeBase } from './conflicts-merge.js';

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

/** The newest auto-merge of `path`; `undoable` skips undone ones. */
function latestMerge(logText: string, path: string): AutoMergeEntry | undefined {
  return autoMerges(logText).find((m) => m.path === path);
}

function noMerge(logText: string, path: string, what: string): UsageError {
  const recent = [
    ...new Set(
      autoMerges(logText)
        .slice(0, 5)
        .map((m) => m.path),
    ),
  ];
  return new UsageError(
    `no recent auto-merge of ${JSON.stringify(path)}${what}; recent: ${recent.map((p) => JSON.stringify(p)).join(', ') || 'none'} (see: sync-coordinator conflicts --merged)`,
  );
}

interface Side {
  label: string;
  device: string | null;
  blob: string | null;
  commit?: string | null;
}

// ---------------------------------------------------------------- show

export async function show(ctx: CommandContext, path: string, logText: string, view: ConflictsView, json: boolean): Promise<number> {
  const ws = await ctx.stateWorkspace();
  const git = ws.git;
  const merge = latestMerge(logText, path);
  const copies = copiesFor(view, path);
  // An open conflict copy newer than the merge (or a copy with no merge at all) is shown
  // instead; an undone merge is shown through its record (the blobs are exact).
  const copy = copies.find((c) => !merge || (c.made_at > merge.time.replace(/\.\d+Z$/, 'Z') && c.path !== merge.undone?.copy_path));
  if (merge && !copy) return showMerge(ctx, git, merge, json);
  if (copy) return showCopy(ctx, git, copy, json);
  throw noMerge(logText, path, ' and no open conflict copy of it');
}

async function showMerge(ctx: CommandContext, git: Git, m: AutoMergeEntry, json: boolean): Promise<number> {
  if (!m.local_blob || !m.remote_blob)
    throw new UsageError(
      `the auto-merge of ${JSON.stringify(m.path)} (op ${m.op}) was recorded without its blob ids; its local side is in refs/sync-coordinator/backup/${m.op}`,
    );
  const ids = [m.base_blob ?? null, m.local_blob, m.remote_blob];
  await requireBlobs(git, ids, m);
  const base = m.base_blob ?? (await emptyBlob(git));
  const remote = await introducedBy(git, m.path, m.remote_blob);
  const local: Side = { label: `${m.device} (this device's side, merged in op ${m.op})`, device: m.device, blob: m.local_blob };
  const other: Side = {
    label: remote
      ? `${remote.device ?? `commit ${remote.commit.slice(0, 10)}`} (the remote's side${remote.device ? `, commit ${remote.commit.slice(0, 10)}` : ''})`
      : "the remote's side",
    device: remote?.device ?? null,
    blob: m.remote_blob,
    commit: remote?.commit ?? null,
  };
  const [dl, dr] = await Promise.all([diffBlobs(git, base, m.local_blob), diffBlobs(git, base, m.remote_blob)]);
  if (json) {
    ctx.out(
      JSON.stringify({
        path: m.path,
        source: 'auto-merge',
        op: m.op,
        time: m.time,
        strategy: m.strategy ?? null,
        hunks: m.hunks ?? null,
        undone: m.undone,
        base_blob: m.base_blob ?? null,
        merged_blob: m.merged_blob ?? null,
        local: { device: local.device, blob: local.blob, diff: dl },
        remote: { device: other.device, commit: other.commit, blob: other.blob, diff: dr },
      }),
    );
    return 0;
  }
  ctx.out(
    `${m.path}: auto-merged ${m.time} on ${m.device} (op ${m.op}, strategy ${m.strategy ?? '?'}, ${m.hunks ?? 0} hunk(s))${m.undone ? `; undone, other side kept as ${m.undone.copy_path}` : ''}`,
  );
  ctx.out(`base: ${m.base_blob ? `blob ${m.base_blob.slice(0, 12)}` : 'none (both sides added the file)'}`);
  printDiff(ctx, m.path, local, dl);
  printDiff(ctx, m.path, other, dr);
  return 0;
}

async function showCopy(ctx: CommandContext, git: Git, c: TreeCopy, json: boolean): Promise<number> {
  const copyBlob = (await revBlob(git, `HEAD:${c.path}`)) ?? (await hashFile(git, join(git.cwd, c.path)));
  if (!copyBlob) throw new UsageError(`${c.path} is neither committed nor a readable file`);
  const added = await firstLine(git, ['log', '-1', '--format=%H', '--diff-filter=A', 'HEAD', '--', c.path]);
  const other = added ? await revBlob(git, `${added}^:${c.original}`) : await revBlob(git, `HEAD:${c.original}`);
  if (!other) throw new UsageError(`${c.original} has no version to compare ${c.path} with`);
  const mb = await findMergeBase(git, c.original, c.path);
  const base = mb.commit ? ((await revBlob(git, `${mb.commit}:${c.original}`)) ?? (await emptyBlob(git))) : await emptyBlob(git);
  const otherBy = await introducedBy(git, c.original, other);
  const copySide: Side = { label: `${c.device} (its version, kept as ${c.path})`, device: c.device, blob: copyBlob };
  const otherSide: Side = {
    label: `${otherBy?.device ?? 'the other side'} (the version at ${c.original})`,
    device: otherBy?.device ?? null,
    blob: other,
    commit: otherBy?.commit ?? null,
  };
  const [dc, dother] = await Promise.all([diffBlobs(git, base, copyBlob), diffBlobs(git, base, other)]);
  if (json) {
    ctx.out(
      JSON.stringify({
        path: c.original,
        source: 'conflict-copy',
        copy: c.path,
        base: { commit: mb.commit, blob: mb.commit ? base : null, description: mb.description },
        local: { device: copySide.device, blob: copyBlob, diff: dc },
        remote: { device: otherSide.device, commit: otherSide.commit, blob: other, diff: dother },
      }),
    );
    return 0;
  }
  ctx.out(`${c.original}: open conflict, ${c.device}'s version kept as ${c.path} (${c.made_at})`);
  ctx.out(`base: ${mb.description}`);
  printDiff(ctx, c.original, copySide, dc);
  printDiff(ctx, c.original, otherSide, dother);
  return 0;
}

function printDiff(ctx: CommandContext, path: string, side: Side, diff: string): void {
  ctx.out('');
  ctx.out(`--- ${path} (base)`);
  ctx.out(`+++ ${path} (${side.label})`);
  if (!diff) ctx.out('(no change against the base)');
  // File contents are untrusted: control characters never reach the terminal.
  // A diff keeps its tabs: the raw variant, control characters stripped here.
  else for (const line of diff.replace(/\n$/, '').split('\n')) ctx.outRaw(stripControl(line));
}

/** The hunks of a blob-to-blob diff (git's header lines dropped; they name blob ids). */
export async function diffBlobs(git: Git, a: string, b: string): Promise<string> {
  if (a === b) return '';
  const r = await git.run(['diff', '--no-color', '--no-ext-diff', '--no-textconv', '-U3', a, b], { readOnly: true, timeoutMs: 60_000 });
  const at = r.stdout.search(/^(@@|Binary files)/m);
  return at < 0 ? '' : r.stdout.slice(at);
}

async function firstLine(git: Git, args: string[]): Promise<string | null> {
  const r = await git.run(args, { readOnly: true, okCodes: [1, 128], literalPaths: true, timeoutMs: 30_000 });
  return r.code === 0 ? r.stdout.split('\n')[0]?.trim() || null : null;
}

/** `<commit>:<path>` as a blob id; the path follows a rev, so it is never an option. */
async function revBlob(git: Git, spec: string): Promise<string | null> {
  // (A peel suffix would be read as part of the path: the type is checked apart.)
  const r = await git.run(['rev-parse', '--verify', '-q', spec], { readOnly: true, okCodes: [1, 128], timeoutMs: 30_000 });
  const id = r.code === 0 ? r.stdout.trim() : '';
  if (!OID.test(id)) return null;
  const t = await git.run(['cat-file', '-t', id], { readOnly: true, okCodes: [128], timeoutMs: 30_000 });
  return t.code === 0 && t.stdout.trim() === 'blob' ? id : null;
}

async function hashFile(git: Git, abs: string): Promise<string | null> {
  const data = await fs.readFile(abs).catch(() => null);
  if (!data) return null;
  return (await git.run(['hash-object', '-w', '--stdin'], { input: data })).stdout.trim();
}

async function emptyBlob(git: Git): Promise<string> {
  return (await git.run(['hash-object', '-w', '--stdin'], { input: Buffer.alloc(0) })).stdout.trim();
}

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

async function requireBlobs(git: Git, ids: Array<string | null>, m: AutoMergeEntry): Promise<void> {
  const wanted = ids.filter((x): x is string => !!x);
  // conflicts.log is a local file: an id in it reaches git only when it is an object id.
  if (!wanted.every((x) => OID.test(x)))
    throw new UsageError(`the auto-merge record of ${JSON.stringify(m.path)} (op ${m.op}) in conflicts.log is damaged (a blob id is not an object id)`);
  const r = await git.run(['cat-file', '--batch-check'], { readOnly: true, input: wanted.map((x) => `${x}\n`).join('') });
  if (/ missing$/m.test(r.stdout))
    throw new UsageError(`the auto-merge of ${JSON.stringify(m.path)} (op ${m.op}) is too old: its versions are no longer in this repository (backups pruned)`);
}

/** The newest commit on HEAD that made `path` the blob `blob`, and the device it names. */
async function introducedBy(git: Git, path: string, blob: string): Promise<{ commit: string; device: string | null } | null> {
  const r = await git.run(['log', `--find-object=${blob}`, '--no-abbrev', '--raw', '--no-renames', '--format=%x01%H%x1f%s', 'HEAD', '--', path], {
    readOnly: true,
    okCodes: [128],
    literalPaths: true,
    timeoutMs: 60_000,
  });
  if (r.code !== 0) return null;
  for (const chunk of r.stdout.split('\x01')) {
    const [head = '', ...raw] = chunk.split('\n');
    const [commit = '', subject = ''] = head.split('\x1f');
    if (!commit || !raw.some((l) => l.startsWith(':') && l.split(' ')[3] === blob)) continue;
    const device = /^sync\([^)]*\): .* on ([A-Za-z0-9_-]{1,64})$/.exec(subject)?.[1] ?? null;
    return { commit, device };
  }
  return null;
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
