/**
 * watch: the foreground watcher. Each quiet period becomes one `intelligent-auto`
 * request; with no daemon running it is served here too (as request-sync would).
 */
import { enqueue, newRequestId } from '../../core/queue.js';
import { STATE_DIR_REL } from '../../git/workspace.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext): Promise<number> {
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();
  const logger = await ctx.logger();
  const { runWatch } = await import('../../../watcher/watcher.js');
  const { processQueue } = await import('../../core/coordinator.js');
  const { readDaemonInfo } = await import('../../core/pidfile.js');
  ctx.out(`watching ${ws.root} (quiet period ${config.debounce_ms} ms, at most ${config.max_wait_ms} ms); Ctrl-C to stop`);
  await runWatch({
    root: ws.root,
    stateDirRel: STATE_DIR_REL,
    debounceMs: config.debounce_ms,
    maxWaitMs: config.max_wait_ms,
    ignore: config.watch.ignore,
    logger,
    signal: ctx.signal,
    onQuiet: async (info) => {
      const now = Date.now();
      const id = newRequestId(now);
      await enqueue(ws.paths.queue, {
        id,
        type: 'intelligent-auto',
        caller: 'watcher',
        priority: 'low',
        reason: `${info.changes} change(s): ${info.paths.slice(0, 3).join(', ')}`.slice(0, 1000),
        created_at: new Date(now).toISOString(),
        pid: process.pid,
      });
      ctx.out(`${new Date(now).toISOString()} ${info.changes} change(s) → request ${id}`);
      if ((await readDaemonInfo(ws.paths.daemonPid)).running) return;
      const report = await processQueue({ ws, config, logger, caller: 'watch', lockTimeoutMs: 0, signal: ctx.signal });
      for (const b of report.batches) ctx.out(`  ${b.result ?? b.outcome}: ${b.message}`);
    },
  });
  return 0;
}
