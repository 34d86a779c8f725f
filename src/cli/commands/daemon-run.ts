/**
 * `daemon run`: the daemon in the foreground (what systemd and `daemon start` run).
 * Claims daemon.pid (exit 4 when another daemon of this workspace is alive), logs to
 * daemon.log through pino-roll, runs the daemon loop again with the new config when
 * config.json changes, and on SIGTERM/SIGINT/SIGHUP shuts down cleanly and exits 0
 * only after the log transport has drained (reliability.md 6.1).
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { loadConfig } from '../../core/config.js';
import { ExitCode } from '../../core/errors.js';
import { createDaemonLogger } from '../../daemon/daemon-logger.js';
import { runDaemon } from '../../daemon/daemon.js';
import { claimPidFile, releasePidFile } from '../../daemon/pidfile.js';
import type { CommandContext } from '../context.js';

/** If something still holds the event loop after a clean shutdown, exit anyway (pino's exit hook still flushes). */
const EXIT_SAFETY_MS = 5_000;

export async function run(ctx: CommandContext): Promise<number> {
  // Install the SIGTERM/SIGINT/SIGHUP handlers first: a signal during start-up must still
  // end in a clean exit (pid file removed), not in the default kill.
  const hup = new AbortController();
  process.on('SIGHUP', () => hup.abort(new Error('received SIGHUP')));
  const signal = AbortSignal.any([ctx.signal, hup.signal]);
  const ws = await ctx.stateWorkspace();
  let config = await ctx.config();
  const claim = await claimPidFile(ws.paths.daemonPid);
  if (!claim.acquired) {
    ctx.err(`daemon already running for ${ws.root} (pid ${claim.running.pid}); not starting another`);
    return ExitCode.lockBusy;
  }
  const pidContent = claim.content;

  let logError: string | null = null;
  let dlog;
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

  // Last resort: log, drop our pid file, exit 1 (the transport's exit hook flushes).
  const fatal = (err: unknown) => {
    try {
      log.error({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'daemon crashed');
    } catch {
      /* ignore */
    }
    try {
      if (readFileSync(ws.paths.daemonPid, 'utf8') === pidContent) unlinkSync(ws.paths.daemonPid);
    } catch {
      /* ignore */
    }
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  ctx.out(`running (pid ${process.pid})`);
  let exitCode: number;
  try {
    for (;;) {
      const result = await runDaemon({
        ws,
        config,
        logger: dlog.logger,
        signal,
        pidContent,
        logError: () => logError ?? dlog.error(),
        reopenLog: () => dlog.reopenIfRemoved(),
        reloadConfig: () => loadConfig(ws.paths.config),
      });
      exitCode = result.exitCode;
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
  }
  await dlog.close();
  setTimeout(() => process.exit(exitCode), EXIT_SAFETY_MS).unref();
  return exitCode;
}
