import { buildStatus } from '../../core/status-view.js';
import { humanStatus } from '../status-text.js';
import { safeValue } from '../../core/sanitize.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const ws = await ctx.workspace();
  const config = await ctx.config();
  const view = await buildStatus(ws, config);
  if (opts.json) ctx.out(JSON.stringify(view));
  else for (const line of humanStatus(view)) ctx.out(safeValue(line));
  return 0;
}

export { humanStatus };
