/**
 * conflicts: what is still open, newest first. Two sources: conflicts.log (this
 * device's record: policy, outcome, op) and the tree itself (every tracked
 * `*.sync-conflict-*` file, including copies other devices made; see
 * src/git/tree-conflicts.ts).
 *
 * `--resolve <path>` (a file or one of its conflict copies) closes it: the copy is
 * deleted from the work tree (it stays in history and the backup refs), so the next
 * sync closes it on every device. `--merge <path>` writes git's 3-way merge of the
 * file and its copy, with markers, into the file for the user to edit; automatic syncs
 * pause meanwhile so that no marker is synced.
 */
import { promises as fs } from 'node:fs';
import { appendConflict, parseConflictLog, type ConflictRecord } from '../../core/conflict-log.js';
import { UsageError } from '../../core/errors.js';
import { acquireLock } from '../../core/lock.js';
import { hasControl } from '../../core/sanitize.js';
import { openStateStore } from '../../core/state.js';
import { readConflictsView, type ConflictsView, type TreeCopy } from '../../git/tree-conflicts.js';
import { conflictsCommand as command, markerLines } from '../../core/guided-merge.js';
import { resolveEndsPause } from '../../core/pause.js';
import type { CommandContext } from '../context.js';
import { MERGED_LIMIT } from '../numeric-option.js';

type ConflictsOpts = { resolve?: string; merge?: string; all?: boolean; merged?: boolean; limit?: number; json?: boolean };

export async function run(ctx: CommandContext, action: string | undefined, target: string | undefined, opts: ConflictsOpts): Promise<number> {
  if (opts.resolve !== undefined && opts.merge !== undefined) throw new UsageError('use either --resolve or --merge, not both');
  if (action !== undefined && action !== 'show' && action !== 'undo')
    throw new UsageError(`unknown conflicts action ${JSON.stringify(action)}; valid: show <path>, undo <path>`);
  if (action !== undefined && (opts.resolve !== undefined || opts.merge !== undefined || opts.all || opts.merged || opts.limit !== undefined))
    throw new UsageError(`conflicts ${action} takes only a path (and --json)`);
  if (action !== undefined && target === undefined)
    throw new UsageError(`conflicts ${action} needs a path, e.g.: sync-coordinator conflicts ${action} -- notes.md`);
  if (action === undefined && opts.limit !== undefined && !opts.merged) throw new UsageError('--limit goes with --merged');
  if (opts.merged && (opts.resolve !== undefined || opts.merge !== undefined || opts.all))
    throw new UsageError('--merged lists auto-merges; use it without --resolve, --merge or --all');
  const review = opts.merged || action !== undefined ? await import('./conflicts-review.js') : null;
  const limit = opts.limit ?? MERGED_LIMIT.default;
  const path = action !== undefined ? checkPath(action, target!) : '';
  if (path.startsWith('/') || path.split('/').includes('..'))
    throw new UsageError(`conflicts ${action} needs a path inside the work tree, as shown by "sync-coordinator conflicts --merged"`);
  const ws = await ctx.stateWorkspace();
  const text = await fs.readFile(ws.paths.conflictsLog, 'utf8').catch(() => '');
  if (review && opts.merged) return review.listMerged(ctx, text, limit, !!opts.json);
  if (review && action === 'undo') return review.undo(ctx, path, text, !!opts.json);
  const view = await readConflictsView(ws.git, text);
  if (review && action === 'show') return review.show(ctx, path, text, view, !!opts.json);
  if (opts.resolve !== undefined) return resolve(ctx, checkPath('--resolve', opts.resolve), view, !!opts.json);
  if (opts.merge !== undefined) {
    const { guidedMerge } = await import('./conflicts-merge.js');
    return guidedMerge(ctx, checkPath('--merge', opts.merge), view, !!opts.json);
  }
  const all = opts.all
    ? parseConflictLog(text)
        .filter((r): r is ConflictRecord => !('resolved' in r))
        .reverse()
    : null;
  if (opts.json) {
    ctx.out(JSON.stringify({ open: view.open, copies: view.copies, count: view.count, ...(all ? { all } : {}) }));
    return 0;
  }
  const logged = all ?? view.open;
  const fromElsewhere = view.copies.filter((c) => !view.open.some((r) => r.copy_path === c.path));
  if (logged.length === 0 && fromElsewhere.length === 0) {
    ctx.out(opts.all ? 'no conflicts recorded' : 'no open conflicts');
    return 0;
  }
  for (const c of logged) {
    const state = view.open.includes(c) ? 'OPEN' : 'done';
    const detail = c.copy_path
      ? `your version kept as ${c.copy_path}`
      : c.outcome === 'left-for-user'
        ? 'left for you (sync aborted, nothing changed)'
        : c.outcome === 'kept-modified'
          ? 'the edited side kept over the deletion'
          : 'local version kept';
    ctx.out(`${state}  ${c.time}  ${c.path}  [${c.kind}, ${c.policy}]  ${detail}  (op ${c.op})`);
  }
  for (const c of fromElsewhere) ctx.out(`OPEN  ${c.made_at}  ${c.original}  [conflict copy from device ${c.device}]  its version kept as ${c.path}`);
  const first = view.copies[0];
  if (first) {
    ctx.out(`to merge a copy into its file: ${command('--merge', first.path)}  (then edit ${first.original})`);
    ctx.out(
      `when the file has what you want: ${command('--resolve', first.original)}  (deletes its conflict copies; the next sync removes them on every device)`,
    );
  } else {
    const left = view.open.find((c) => c.outcome === 'left-for-user');
    if (left) ctx.out(`when you have merged the file by hand: ${command('--resolve', left.path)}`);
  }
  return 0;
}

function checkPath(opt: string, path: string): string {
  if (!path || hasControl(path) || Buffer.byteLength(path) > 4096) throw new UsageError(`${opt} needs a path as shown by "sync-coordinator conflicts"`);
  return path.replace(/^\.\//, '');
}

/** The copies a path names: the copy itself, or every copy of a file. */
export function copiesFor(view: ConflictsView, path: string): TreeCopy[] {
  const exact = view.copies.filter((c) => c.path === path);
  return exact.length ? exact : view.copies.filter((c) => c.original === path);
}

async function resolve(ctx: CommandContext, path: string, view: ConflictsView, json: boolean): Promise<number> {
  const leftForUser = view.open.find((c) => c.path === path && c.outcome === 'left-for-user');
  const copies = copiesFor(view, path);
  if (!leftForUser && copies.length === 0) {
    const open = [...new Set([...view.open.filter((c) => c.outcome === 'left-for-user').map((c) => c.path), ...view.copies.map((c) => c.original)])];
    throw new UsageError(`no open conflict at ${JSON.stringify(path)}; open: ${open.join(', ') || 'none'}`);
  }
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const logger = await ctx.logger();
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
    { caller: 'conflicts --resolve', timeoutMs: config.lock_timeout_ms },
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
  if (json) ctx.out(JSON.stringify({ resolved: path, resumed, ...(removed.length ? { removed } : {}) }));
  else {
    ctx.out(`marked ${path} resolved${resumed ? '; automatic syncs resumed' : ''}`);
    if (removed.length)
      ctx.out(`removed ${removed.join(', ')}; the next sync removes ${removed.length === 1 ? 'it' : 'them'} on every device (now: sync-coordinator sync-now)`);
  }
  return 0;
}
