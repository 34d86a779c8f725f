/**
 * hooks install|uninstall|status: the post-merge and pre-push hooks, in the effective
 * hooks directory (core.hooksPath, husky 9's .husky/, or .git/hooks), chained with the
 * user's own hooks.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  acceptsShellLines,
  effectiveHooksDir,
  HOOK_NAMES,
  hooksStatus,
  installHooks,
  shebangInterpreter,
  uninstallHooks,
  type HooksStatus,
  type InstallContext,
} from '../../../hooks/installer.js';
import { UsageError } from '../../shared/errors.js';
import { shellWord } from '../../shared/shell-word.js';
import { mainBinPath } from '../../shared/package-root.js';
import type { CommandContext } from '../context.js';

type Opts = { json?: boolean };

async function installContext(ctx: CommandContext): Promise<InstallContext> {
  const ws = await ctx.workspace();
  // The bin of this very install, so a hook starts the same version that installed it.
  return { root: ws.root, gitDir: ws.gitDir, commonDir: ws.commonDir, nodePath: process.execPath, binPath: mainBinPath() };
}

function printStatus(ctx: CommandContext, s: HooksStatus): void {
  ctx.out(`hooks dir: ${s.dir}`);
  for (const [name, installed] of Object.entries(s.hooks)) {
    const unsafe = s.unsafe?.includes(name as keyof HooksStatus['hooks']);
    ctx.out(`${name}: ${installed ? 'installed' : unsafe ? `not installed (${UNSAFE})` : 'not installed'}`);
  }
}

const UNSAFE =
  'an old, unsafe installation runs a script from the state directory, which a pulled commit can replace; run `sync-coordinator hooks install` to rewrite it';

/** The contract's keys, plus `unsafe` only when there is an old installation. */
function jsonStatus(s: HooksStatus): Record<string, unknown> {
  return s.unsafe ? { dir: s.dir, hooks: s.hooks, unsafe: s.unsafe } : { dir: s.dir, hooks: s.hooks };
}

export const commands = {
  async install(ctx: CommandContext, opts: Opts): Promise<number> {
    const ic = await installContext(ctx);
    await refuseUnchainable(ic);
    const res = await installHooks(ic);
    if (opts.json) ctx.out(JSON.stringify({ ...jsonStatus(res), changed: res.changed, notes: res.notes }));
    else {
      printStatus(ctx, res);
      for (const f of res.changed) ctx.out(`changed: ${f}`);
      for (const n of res.notes) ctx.err(`note: ${n}`);
    }
    return 0;
  },
  async uninstall(ctx: CommandContext, opts: Opts): Promise<number> {
    const res = await uninstallHooks(await installContext(ctx));
    if (opts.json) ctx.out(JSON.stringify({ ...jsonStatus(res), changed: res.changed }));
    else {
      printStatus(ctx, res);
      for (const f of res.changed) ctx.out(`changed: ${f}`);
    }
    return 0;
  },
  async status(ctx: CommandContext, opts: Opts): Promise<number> {
    const res = await hooksStatus(await installContext(ctx));
    if (opts.json) ctx.out(JSON.stringify(jsonStatus(res)));
    else printStatus(ctx, res);
    return 0;
  },
};

/**
 * A hook in another language (a python post-merge) cannot take our sh line. Refused
 * before anything is written (bad input changes nothing), in one plain line that says
 * how to keep the user's hook and still get ours.
 */
async function refuseUnchainable(ic: InstallContext): Promise<void> {
  const eff = await effectiveHooksDir(ic);
  if (!eff.writable || eff.kind === 'husky') return;
  for (const hook of HOOK_NAMES) {
    const file = join(eff.dir, hook);
    const st = await fs.lstat(file).catch(() => null);
    if (!st?.isFile()) continue;
    const text = (await fs.readFile(file)).toString('latin1');
    if (acceptsShellLines(text)) continue;
    const interp = shebangInterpreter(text) ?? 'another interpreter';
    const aside = `${file}.${interp.replace(/[^A-Za-z0-9_-]/g, '') || 'orig'}`;
    throw new UsageError(
      `cannot chain the ${hook} hook ${file}: it runs ${interp}, not sh, so sync-coordinator cannot add its line to it; nothing was changed. ` +
        `To keep it and get sync-coordinator's hooks: mv ${shellWord(file)} ${shellWord(aside)} && sync-coordinator hooks install, then add the line ${shellWord(aside)} "$@" to the new ${hook} hook (and keep ${shellWord(aside)} executable)`,
    );
  }
}
