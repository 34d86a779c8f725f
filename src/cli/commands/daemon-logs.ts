/**
 * `daemon logs [-f] [-n N] [--json]`: daemon.log and coordinator.log, merged by time;
 * readable (pino-pretty, colours on a TTY) or raw JSON lines; `-f` follows until Ctrl-C.
 */
import { createFormatter, followLogs, logSources, tailLogs } from '../../daemon/log-view.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { follow?: boolean; lines: number; json?: boolean }): Promise<number> {
  const n = opts.lines;
  const ws = await ctx.workspace();
  // `logs | head`: the reader went away; that is the end, not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  const sources = logSources(ws.paths);
  const format = await createFormatter({ json: !!opts.json, colorize: !opts.json && !!process.stdout.isTTY });
  const { lines, ends } = await tailLogs(sources, n);
  // The formatter scrubbed every value; pretty output on a terminal keeps its colours.
  for (const l of lines) ctx.outRaw(format(l));
  if (!opts.follow) {
    if (lines.length === 0 && !opts.json) ctx.err('no log lines yet (the daemon writes daemon.log, other commands coordinator.log)');
    return 0;
  }
  await followLogs(sources, ends, (l) => ctx.outRaw(format(l)), ctx.signal);
  return 0;
}
