/** `daemon stop`: SIGTERM, then wait (bounded) for a clean exit. */
import { stopDaemon } from '../../daemon/control.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean; timeout: number }): Promise<number> {
  const ws = await ctx.workspace();
  const timeoutS = opts.timeout;
  const r = await stopDaemon({ pidFile: ws.paths.daemonPid, timeoutMs: timeoutS * 1000 });
  if (opts.json) {
    ctx.out(JSON.stringify({ stopped: r.status === 'stopped', running: r.status === 'timeout', pid: r.status === 'not-running' ? null : r.pid }));
  } else if (r.status === 'stopped') ctx.out(`stopped (pid ${r.pid})`);
  else if (r.status === 'not-running')
    ctx.out(
      `not running${r.removedStalePidFile ? ' (removed a stale pid file)' : ''}${r.notDaemonPid !== undefined ? ` (daemon.pid names pid ${r.notDaemonPid}, which is not a sync-coordinator daemon; not signalled)` : ''}`,
    );
  else ctx.err(`daemon (pid ${r.pid}) is still running after ${timeoutS} s; it may be finishing a step. Try again, or force it with: kill -9 ${r.pid}`);
  return r.status === 'timeout' ? 1 : 0;
}
