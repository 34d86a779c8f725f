import { promises as fs } from 'node:fs';
import { defaultConfig } from '../../shared/config.js';
import { addToInfoExclude, ensureStateDir } from '../../git/workspace.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const ws = await ctx.workspace();
  const { created } = await ensureStateDir(ws);
  const excludeAdded = await addToInfoExclude(ws);
  // Validate an existing config (exit 2 naming the key) rather than overwrite it.
  await ctx.config();
  let configWritten = false;
  try {
    await fs.writeFile(ws.paths.config, JSON.stringify(defaultConfig(), null, 2) + '\n', { flag: 'wx', mode: 0o644 });
    configWritten = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const result = { state_dir: ws.paths.dir, created, config_written: configWritten, exclude_added: excludeAdded };
  if (opts.json) ctx.out(JSON.stringify(result));
  else {
    ctx.out(`${created ? 'created' : 'using'} ${ws.paths.dir}`);
    ctx.out(configWritten ? `wrote default config: ${ws.paths.config}` : `config kept: ${ws.paths.config}`);
    if (excludeAdded) ctx.out('added the state directory to .git/info/exclude');
    ctx.out('next: "sync-coordinator hooks install" and "sync-coordinator daemon start", or request a sync with "sync-now"');
  }
  return 0;
}
