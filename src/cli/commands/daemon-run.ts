/**
 * `daemon run`: a daemon in the foreground (what systemd, launchd and `daemon start`
 * run). `--user`: the user daemon serving every registered workspace (user-daemon.ts).
 * Without it: one workspace's daemon, as before the user daemon (exit 4 when another
 * daemon serves this work tree). On SIGTERM/SIGINT/SIGHUP it shuts down cleanly and
 * exits only after its logs are written.
 */
import { readFileSync, unlinkSync } from 'node:fs';
import { ExitCode } from '../../shared/errors.js';
import { runWorkspaceUnit } from '../../daemon/workspace-unit.js';
import type { CommandContext } from '../context.js';

/** If something still holds the event loop after a clean shutdown, exit anyway. */
const EXIT_SAFETY_MS = 5_000;

export async function run(ctx: CommandContext, opts: { user?: boolean } = {}): Promise<number> {
  // Install the SIGTERM/SIGINT/SIGHUP handlers first: a signal during start-up must still
  // end in a clean exit (pid file removed), not in the default kill.
  const hup = new AbortController();
  process.on('SIGHUP', () => hup.abort(new Error('received SIGHUP')));
  const signal = AbortSignal.any([ctx.signal, hup.signal]);
  if (opts.user) {
    const [{ runUserDaemonProcess }, { daemonApi }] = await Promise.all([import('../../daemon/user-daemon.js'), import('../../api/daemon-api.js')]);
    const code = await runUserDaemonProcess({ signal, out: ctx.out, err: ctx.err, api: daemonApi() });
    setTimeout(() => process.exit(code), EXIT_SAFETY_MS).unref();
    return code;
  }
  const ws = await ctx.stateWorkspace();
  const config = await ctx.config();

  // Last resort: log, drop our pid file, exit 1.
  let fatalLog: ((err: unknown) => void) | null = null;
  let dropPid: (() => void) | null = null;
  const fatal = (err: unknown) => {
    try {
      fatalLog?.(err);
    } catch {
      /* ignore */
    }
    dropPid?.();
    process.exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);

  const result = await runWorkspaceUnit({
    ws,
    config,
    signal,
    onStarted: ({ pidContent, logger }) => {
      const log = logger.child({ component: 'daemon' });
      fatalLog = (err) => log.error({ err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'daemon crashed');
      dropPid = () => dropOwnPidFile(ws.paths.daemonPid, pidContent);
      ctx.out(`running (pid ${process.pid})`);
    },
  });
  if (result.status === 'busy') {
    ctx.err(`daemon already running for ${ws.root} (pid ${result.pid}); not starting another`);
    return ExitCode.lockBusy;
  }
  setTimeout(() => process.exit(result.exitCode), EXIT_SAFETY_MS).unref();
  return result.exitCode;
}

function dropOwnPidFile(file: string, content: string): void {
  try {
    if (readFileSync(file, 'utf8') === content) unlinkSync(file);
  } catch {
    /* ignore */
  }
}
