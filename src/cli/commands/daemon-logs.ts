/**
 * `daemon logs [-f] [-n N] [--json] [--user]`: daemon.log and coordinator.log, merged by
 * time; readable (pino-pretty, colours on a TTY) or raw JSON lines; `-f` follows until
 * Ctrl-C. A workspace's logs by default (what its syncs did, also when the user daemon
 * runs them); `--user` shows the user daemon's own log (which workspaces it serves, a
 * workspace it cannot serve and why), from any directory.
 */
import { join } from 'node:path';
import { createFormatter, followLogs, type LogPaths, logSources, tailLogs } from '../../core/log-view.js';
import { userPaths } from '../../shared/user-paths.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { follow?: boolean; lines: number; json?: boolean; user?: boolean }): Promise<number> {
  const n = opts.lines;
  let paths: LogPaths;
  if (opts.user) {
    const up = userPaths();
    paths = { dir: up.stateDir, daemonLog: up.daemonLog, coordinatorLog: join(up.stateDir, 'coordinator.log') };
  } else paths = (await ctx.workspace()).paths;
  // `logs | head`: the reader went away; that is the end, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  const sources = logSources(paths);
  const format = await createFormatter({ json: !!opts.json, colorize: !opts.json && !!process.stdout.isTTY });
  const { lines, ends } = await tailLogs(sources, n);
  // The formatter scrubbed every value; pretty output on a terminal keeps its colours.
  for (const l of lines) ctx.outRaw(format(l));
  if (!opts.follow) {
    if (lines.length === 0 && !opts.json)
      ctx.err(opts.user ? 'no log lines yet (the user daemon has not run)' : 'no log lines yet (the daemon writes daemon.log, other commands coordinator.log)');
    return 0;
  }
  await followLogs(sources, ends, (l) => ctx.outRaw(format(l)), ctx.signal);
  return 0;
}
