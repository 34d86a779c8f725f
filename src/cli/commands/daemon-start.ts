/**
 * `daemon start`: register this work tree and make sure the user daemon runs and serves
 * it. A second start while it runs changes nothing, says so and exits 0 (the wanted
 * state, "a daemon serves this work tree", holds).
 */
import { promises as fs } from 'node:fs';
import { startDaemon } from '../../daemon/control.js';
import { daemonStatePath, readDaemonState } from '../../core/daemon-state.js';
import { readDaemonInfo } from '../../core/pidfile.js';
import { addWorkspace } from '../../shared/registry.js';
import { userPaths, workspaceId } from '../../shared/user-paths.js';
import type { CommandContext } from '../context.js';

/** Long enough for the user daemon to stop a per-workspace daemon of the previous version mid-sync. */
const SERVE_TIMEOUT_MS = 90_000;

export async function run(ctx: CommandContext, opts: { json?: boolean }): Promise<number> {
  const ws = await ctx.stateWorkspace();
  await ctx.config(); // an invalid config fails here (exit 2), not silently in the background
  const up = userPaths();
  const before = await readDaemonInfo(ws.paths.daemonPid);
  await addWorkspace(up.registry, await fs.realpath(ws.root));
  await fs.mkdir(up.stateDir, { recursive: true, mode: 0o700 });
  const r = await startDaemon({ root: ws.root, stateDir: up.stateDir, pidFile: up.daemonPid, args: ['-C', up.stateDir, 'daemon', 'run', '--user'] });
  if (r.status === 'failed') {
    if (opts.json) ctx.out(JSON.stringify({ started: false, running: false, pid: null, message: r.message, output: r.output }));
    ctx.err(`daemon start failed: ${r.message}`);
    for (const line of r.output.trimEnd().split('\n').filter(Boolean).slice(-20)) ctx.err(`  ${line}`);
    return 1;
  }
  const pid = r.pid;
  // Served means: this work tree's daemon.pid names the user daemon (it watches the
  // registry, and first stops a per-workspace daemon of the previous version), and its
  // loop runs (daemon-state.json: the spool watch is up and the config was read).
  const deadline = Date.now() + SERVE_TIMEOUT_MS;
  const id = workspaceId(await fs.realpath(ws.root));
  let unitError: string | null = null;
  const served = async () => {
    // The user daemon records a workspace it cannot serve (and retries it): no point waiting.
    const users = JSON.parse(await fs.readFile(up.daemonState, 'utf8').catch(() => '{}')) as {
      pid?: number;
      workspaces?: { id: string; status: string; error: string | null }[];
    };
    const mine = users.pid === pid ? users.workspaces?.find((w) => w.id === id) : undefined;
    unitError = mine?.status === 'failed' ? mine.error : null;
    const info = await readDaemonInfo(ws.paths.daemonPid);
    const st = info.pid === pid ? await readDaemonState(daemonStatePath(ws.paths.dir)) : null;
    return { info, ok: st?.pid === pid && !st.stopped_at };
  };
  let { info, ok } = await served();
  while (!ok && !unitError && Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 40));
    ({ info, ok } = await served());
  }
  if (!ok) {
    const msg = `the user daemon (pid ${pid}) runs but does not serve ${ws.root}${unitError ? `: ${unitError as string}` : ` yet${info.running ? ` (pid ${info.pid} still does)` : ''}`}; see "sync-coordinator list" and "daemon logs"`;
    if (opts.json) ctx.out(JSON.stringify({ started: r.status === 'started', running: true, pid, served: false, message: msg }));
    ctx.err(msg);
    return 1;
  }
  const already = r.status === 'already-running' && before.pid === pid;
  if (opts.json)
    ctx.out(
      JSON.stringify(already ? { started: false, running: true, pid, since: info.since, message: 'already running' } : { started: true, running: true, pid }),
    );
  else
    ctx.out(
      already
        ? `already running (pid ${pid}); not starting another`
        : r.status === 'started'
          ? `started (pid ${pid})`
          : `served by the running user daemon (pid ${pid})`,
    );
  return 0;
}
