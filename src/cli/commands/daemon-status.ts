import { promises as fs } from 'node:fs';
import { readDaemonInfo } from '../../core/pidfile.js';
import { userPaths } from '../../shared/user-paths.js';
import type { CommandContext } from '../context.js';

export async function run(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const ws = await ctx.workspace();
  const info = await readDaemonInfo(ws.paths.daemonPid, { verifyCommand: true });
  const api = info.running ? await userDaemonApi(info.pid) : null;
  // The contract's three keys; `api` is added only when the user daemon serves this work tree.
  if (opts.json) ctx.out(JSON.stringify({ running: info.running, pid: info.pid, since: info.since, ...(api ? { api } : {}) }));
  else ctx.out(info.running ? `running (pid ${info.pid})` : 'not running');
  // stdout is the contract's one line; a listener that should be up and is not is a diagnostic.
  if (!opts.json && api?.enabled && !api.listening) ctx.err(`note: the HTTP API is down: ${api.error ?? 'not listening'}`);
  if (info.notDaemonPid !== undefined) ctx.err(`note: daemon.pid names pid ${info.notDaemonPid}, which is not a sync-coordinator daemon`);
  return 0;
}

/** The HTTP API's state as the user daemon serving this workspace last wrote it; null for a per-workspace daemon. */
async function userDaemonApi(pid: number | null): Promise<{ enabled: boolean; listening: boolean; url: string | null; error: string | null } | null> {
  try {
    const s = JSON.parse(await fs.readFile(userPaths().daemonState, 'utf8')) as {
      pid?: number;
      api?: { enabled: boolean; listening: boolean; url: string | null; error: string | null } | null;
    };
    return s.pid === pid && s.api ? { enabled: s.api.enabled, listening: s.api.listening, url: s.api.url, error: s.api.error } : null;
  } catch {
    return null;
  }
}
