/**
 * `daemon start`: run the daemon in the background. A second start while one runs
 * changes nothing, says so and exits 0 (the wanted state, "a daemon runs", holds).
 */
import { startDaemon } from '../../daemon/control.js';
import { safeValue } from '../../core/sanitize.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const ws = await ctx.stateWorkspace();
  await ctx.config(); // an invalid config fails here (exit 2), not silently in the background
  const r = await startDaemon({ root: ws.root, stateDir: ws.paths.dir, pidFile: ws.paths.daemonPid });
  if (r.status === 'started') {
    if (opts.json) ctx.out(JSON.stringify({ started: true, running: true, pid: r.pid }));
    else ctx.out(`started (pid ${r.pid})`);
    return 0;
  }
  if (r.status === 'already-running') {
    if (opts.json) ctx.out(JSON.stringify({ started: false, running: true, pid: r.pid, since: r.since, message: 'already running' }));
    else ctx.out(`already running (pid ${r.pid}); not starting another`);
    return 0;
  }
  if (opts.json) ctx.out(JSON.stringify({ started: false, running: false, pid: null, message: r.message, output: r.output }));
  ctx.err(safeValue(`daemon start failed: ${r.message}`));
  for (const line of r.output.trimEnd().split('\n').filter(Boolean).slice(-20)) ctx.err(`  ${safeValue(line)}`);
  return 1;
}
