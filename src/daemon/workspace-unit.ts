/**
 * One workspace's daemon, as a unit that a process can run several of: claims the
 * workspace's daemon.pid, logs to its own daemon.log, runs the daemon loop (daemon.ts)
 * and runs it again with the new config when config.json changes, until `signal`
 * aborts. `daemon run` (one workspace, foreground) runs one; the user daemon runs one
 * per registered workspace.
 *
 * Migration (`takeOver`): a per-workspace daemon of the previous version that still
 * owns daemon.pid is asked to stop (SIGTERM, it finishes its step and releases the
 * lock) and the unit claims daemon.pid once it is gone, so no two daemons ever serve
 * one workspace (the workspace lock keeps their syncs apart meanwhile anyway).
 */
import { loadConfig, type Config } from '../shared/config.js';
import { ExitCode } from '../shared/errors.js';
import { ensureStateDir, type Workspace } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';
import { stopDaemon } from './control.js';
import { createDaemonLogger, type DaemonLog } from './daemon-logger.js';
import { runDaemon, type DaemonHandle, type DaemonOptions, type Slots } from './daemon.js';
import { claimPidFile, releasePidFile, type PidClaim } from '../core/pidfile.js';

export interface UnitOptions {
  ws: Workspace;
  config: Config;
  signal: AbortSignal;
  /** Stop a live per-workspace daemon that owns daemon.pid and take its place. */
  takeOver?: { timeoutMs: number; log?: Logger };
  slots?: Slots;
  onStep?: DaemonOptions['onStep'];
  onReport?: DaemonOptions['onReport'];
  onSettled?: DaemonOptions['onSettled'];
  onProbe?: DaemonOptions['onProbe'];
  handle?: DaemonHandle;
  /** Told once daemon.pid is ours and the logger runs (or the claim failed). */
  onStarted?: (info: { pidContent: string; logger: Logger }) => void;
}

export type UnitResult = { status: 'busy'; pid: number | null } | { status: 'done'; exitCode: number; reason: string };

export async function runWorkspaceUnit(o: UnitOptions): Promise<UnitResult> {
  const { ws } = o;
  let config = o.config;
  await ensureStateDir(ws);
  let claim: PidClaim = await claimPidFile(ws.paths.daemonPid);
  if (!claim.acquired && o.takeOver && claim.running.pid !== process.pid) {
    o.takeOver.log?.warn({ root: ws.root, old_pid: claim.running.pid }, 'a per-workspace daemon still serves this workspace; stopping it to take over');
    const stopped = await stopDaemon({ pidFile: ws.paths.daemonPid, timeoutMs: o.takeOver.timeoutMs });
    if (stopped.status === 'timeout') return { status: 'busy', pid: stopped.pid };
    claim = await claimPidFile(ws.paths.daemonPid);
  }
  if (!claim.acquired) return { status: 'busy', pid: claim.running.pid };
  const pidContent = claim.content;

  let logError: string | null = null;
  let dlog: DaemonLog;
  try {
    dlog = await createDaemonLogger({
      stateDir: ws.paths.dir,
      daemonLog: ws.paths.daemonLog,
      coordinatorLog: ws.paths.coordinatorLog,
      level: config.log.level,
      maxSizeMb: config.log.max_size_mb,
      maxFiles: config.log.max_files,
      onError: (m) => (logError = m),
    });
  } catch (e) {
    await releasePidFile(ws.paths.daemonPid, pidContent);
    throw e;
  }
  const log = dlog.logger.child({ component: 'daemon' });
  if (claim.replacedStale) {
    const [pid = '', , since = ''] = claim.replacedStale.split('\n');
    log.warn({ stale_pid: pid.trim(), stale_since: since.trim() || null }, 'replaced the pid file of a daemon that is no longer running');
  }
  o.onStarted?.({ pidContent, logger: dlog.logger });

  let exitCode: number = ExitCode.ok;
  let reason = 'signal';
  try {
    for (;;) {
      const result = await runDaemon({
        ws,
        config,
        logger: dlog.logger,
        signal: o.signal,
        pidContent,
        logError: () => logError ?? dlog.error(),
        reopenLog: () => dlog.reopenIfRemoved(),
        reloadConfig: () => loadConfig(ws.paths.config),
        ...(o.slots ? { slots: o.slots } : {}),
        ...(o.onStep ? { onStep: o.onStep } : {}),
        ...(o.onReport ? { onReport: o.onReport } : {}),
        ...(o.onSettled ? { onSettled: o.onSettled } : {}),
        ...(o.onProbe ? { onProbe: o.onProbe } : {}),
        ...(o.handle ? { handle: o.handle } : {}),
      });
      exitCode = result.exitCode;
      reason = result.reason;
      if (result.reason !== 'reload' || !result.config) break;
      // daemon.log's rotation limits belong to its transport, opened once: they apply
      // from the next start; everything else (level included) applies now.
      config = result.config;
      dlog.setLevel(config.log.level);
    }
  } catch (e) {
    log.error({ err: e instanceof Error ? e.message : String(e) }, 'daemon failed');
    await releasePidFile(ws.paths.daemonPid, pidContent).catch(() => false);
    exitCode = 1;
    reason = 'failed';
  }
  await dlog.close();
  return { status: 'done', exitCode, reason };
}
