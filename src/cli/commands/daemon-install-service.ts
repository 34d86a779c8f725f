/**
 * `daemon install-service`: register this work tree with the user daemon and write a
 * systemd user unit (Linux) or a launchd agent (macOS) that runs the user daemon at
 * login, and print how to enable it. It never enables anything itself.
 */
import { mkdir, realpath } from 'node:fs/promises';
import { addWorkspace } from '../../shared/registry.js';
import { userPaths } from '../../shared/user-paths.js';
import { mainBinPath } from '../../shared/package-root.js';
import { planService, writeService } from '../../daemon/service.js';
import { UsageError } from '../../shared/errors.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean; platform?: string }): Promise<number> {
  const ws = await ctx.workspace();
  await ctx.config(); // refuse to install a service that would fail on an invalid config
  const platform = (opts.platform ?? process.platform) as NodeJS.Platform;
  if (opts.platform && opts.platform !== 'linux' && opts.platform !== 'darwin')
    throw new UsageError(`--platform must be linux or darwin, got ${JSON.stringify(opts.platform)}`);
  if (platform !== 'linux' && platform !== 'darwin')
    throw new UsageError(
      `install-service supports Linux (systemd) and macOS (launchd), not ${platform}; run "sync-coordinator daemon run" from your own service manager`,
    );
  const up = userPaths();
  await addWorkspace(up.registry, await realpath(ws.root));
  await mkdir(up.stateDir, { recursive: true, mode: 0o700 });
  const plan = planService({ root: up.stateDir, node: process.execPath, bin: mainBinPath(), path: process.env.PATH, user: true }, platform);
  const written = await writeService(plan);
  if (opts.json) {
    ctx.out(JSON.stringify({ kind: plan.kind, name: plan.name, path: plan.file, written, enable: plan.enable }));
    return 0;
  }
  ctx.out(
    `${written === 'unchanged' ? 'up to date' : written === 'created' ? 'wrote' : 'updated'} ${plan.kind === 'systemd' ? 'systemd user unit' : 'launchd agent'}: ${plan.file}`,
  );
  ctx.out(`enable it with: ${plan.enable}`);
  return 0;
}
