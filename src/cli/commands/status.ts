import { defaultConfig } from '../../shared/config.js';
import { TrackedStateError } from '../../shared/errors.js';
import { buildStatus } from '../../core/status-view.js';
import { humanStatus } from '../../client/status-text.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const ws = await ctx.workspace();
  // A tracked config.json is not this device's: status still reports, on the defaults.
  const config = await ctx.config().catch((e: unknown) => {
    if (e instanceof TrackedStateError) return defaultConfig();
    throw e;
  });
  const view = await buildStatus(ws, config);
  if (opts.json) ctx.out(JSON.stringify(view));
  else for (const line of humanStatus(view)) ctx.out(line);
  return 0;
}

export { humanStatus };
