import { readDaemonInfo } from '../../daemon/pidfile.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const ws = await ctx.workspace();
  const info = await readDaemonInfo(ws.paths.daemonPid, { verifyCommand: true });
  if (opts.json) ctx.out(JSON.stringify({ running: info.running, pid: info.pid, since: info.since }));
  else ctx.out(info.running ? `running (pid ${info.pid})` : 'not running');
  if (info.notDaemonPid !== undefined) ctx.err(`note: daemon.pid names pid ${info.notDaemonPid}, which is not a sync-coordinator daemon`);
  return 0;
}
