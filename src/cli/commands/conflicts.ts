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
import { parseConflictLog, type ConflictRecord } from '../../git/conflict-log.js';
import { checkConflictPath, resolveConflict } from '../../core/conflict-resolve.js';
import { UsageError } from '../../shared/errors.js';
import { readConflictsView, type ConflictsView } from '../../git/tree-conflicts.js';
import { conflictLines, resolveLines } from '../../client/conflicts-text.js';
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
  for (const line of conflictLines(view, all)) ctx.out(line);
  return 0;
}

function checkPath(opt: string, path: string): string {
  return checkConflictPath(opt, path);
}

async function resolve(ctx: CommandContext, path: string, view: ConflictsView, json: boolean): Promise<number> {
  const r = await resolveConflict({ ws: await ctx.stateWorkspace(), config: await ctx.config(), logger: await ctx.logger(), path, view });
  if (json) ctx.out(JSON.stringify(r));
  else for (const line of resolveLines(r)) ctx.out(line);
  return 0;
}
