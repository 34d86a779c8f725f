/**
 * conflicts: what the conflict policy did and what is still open, newest first, from
 * conflicts.log. `--resolve <path>` records the resolution; when no conflict is left
 * open, automatic syncs paused by the `manual` policy resume.
 */
import { promises as fs } from 'node:fs';
import { appendConflict, openConflicts, parseConflictLog, type ConflictRecord } from '../../core/conflict-log.js';
import { UsageError } from '../../core/errors.js';
import { acquireLock } from '../../core/lock.js';
import { hasControl, safeValue } from '../../core/sanitize.js';
import { openStateStore } from '../../core/state.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { resolve?: string; all?: boolean; json?: boolean }): Promise<number> {
  const ws = await ctx.stateWorkspace();
  const text = await fs.readFile(ws.paths.conflictsLog, 'utf8').catch(() => '');
  if (opts.resolve !== undefined) return resolve(ctx, opts.resolve, text, !!opts.json);
  const open = openConflicts(text);
  const all = opts.all ? parseConflictLog(text).filter((r): r is ConflictRecord => !('resolved' in r)).reverse() : null;
  if (opts.json) {
    ctx.out(JSON.stringify({ open, ...(all ? { all } : {}) }));
    return 0;
  }
  const list = all ?? open;
  if (list.length === 0) {
    ctx.out(opts.all ? 'no conflicts recorded' : 'no open conflicts');
    return 0;
  }
  for (const c of list) {
    const state = open.includes(c) ? 'OPEN' : 'done';
    const detail = c.copy_path
      ? `your version kept as ${c.copy_path}`
      : c.outcome === 'left-for-user'
        ? 'left for you (sync aborted, nothing changed)'
        : c.outcome === 'kept-modified'
          ? 'the edited side kept over the deletion'
          : 'local version kept';
    ctx.out(safeValue(`${state}  ${c.time}  ${c.path}  [${c.kind}, ${c.policy}]  ${detail}  (op ${c.op})`));
  }
  if (open.length) ctx.out('when you have merged a file by hand: sync-coordinator conflicts --resolve <path>');
  return 0;
}

async function resolve(ctx: CommandContext, path: string, text: string, json: boolean): Promise<number> {
  if (!path || hasControl(path)) throw new UsageError('--resolve needs a path as shown by "sync-coordinator conflicts"');
  const open = openConflicts(text);
  if (!open.some((c) => c.path === path)) {
    throw new UsageError(`no open conflict at ${JSON.stringify(path)}; open: ${open.map((c) => c.path).join(', ') || 'none'}`);
  }
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const logger = await ctx.logger();
  const lock = await acquireLock({ paths: ws.paths, logger, staleMs: config.lock_stale_ms, repo: ws }, { caller: 'conflicts --resolve', timeoutMs: config.lock_timeout_ms });
  let resumed = false;
  try {
    appendConflict(ws.paths.conflictsLog, { time: new Date().toISOString(), resolved: path });
    // The `manual` pause waits for the conflicts it left for the user; conflict copies
    // from other syncs do not hold it.
    const left = open.filter((c) => c.path !== path && c.outcome === 'left-for-user');
    if (left.length === 0) {
      const store = await openStateStore(ws.paths.state, logger);
      if (store.get().paused) {
        await store.update((s) => {
          s.paused = null;
        });
        resumed = true;
      }
    }
    logger.info({ path, resumed }, 'conflict marked resolved');
  } finally {
    await lock.release();
  }
  if (json) ctx.out(JSON.stringify({ resolved: path, resumed }));
  else ctx.out(safeValue(`marked ${path} resolved${resumed ? '; automatic syncs resumed' : ''}`));
  return 0;
}
