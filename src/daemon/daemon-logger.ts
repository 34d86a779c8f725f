/**
 * The daemon's logger: pino into daemon.log through the pino-roll transport (rotation by
 * `log.max_size_mb`, `log.max_files`). Only the daemon uses pino-roll: it numbers files
 * from the highest it finds at start, tracks their size in its own process and deletes
 * only files it made, so two writers would rotate at different times and clobber each
 * other's files.
 *
 * Layout: pino-roll writes `<state>/logs/daemon.<n>.log` and keeps the symlink
 * `<state>/logs/current.log` on the newest; `<state>/daemon.log` is a relative symlink
 * to it, so the contract's file name always reads the current log (and `logs -f` sees a
 * new inode after a rotation). A subdirectory, because pino-roll continues numbering
 * from any `*.<n>.log` in its directory.
 *
 * A pino transport in a worker thread loses its last lines on a signal unless the process
 * exits through it: `close()` ends the stream and waits for it, and the daemon only exits
 * after that. An error of the stream (a full disk) is fatal for it, per pino: from then
 * on lines go synchronously to coordinator.log, once announced on stderr and in
 * coordinator.log, and the daemon keeps running.
 */
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import pinoRoll from 'pino-roll';
import { appendLogLine, type Logger, type LogLevel } from '../shared/log.js';
import { safeValue } from '../shared/sanitize.js';
import { DAEMON_LOG_BASE, DAEMON_LOG_DIR } from '../core/log-view.js';

export interface DaemonLog {
  logger: Logger;
  /** Change the level of the root logger and of children made after the change. */
  setLevel(level: LogLevel): void;
  /** Why daemon.log is not written (transport failed), or null. */
  error(): string | null;
  /**
   * daemon.log (or the file behind it) was deleted, or the transport failed a while ago
   * and the file is gone: start a new transport. True when it did.
   */
  reopenIfRemoved(): Promise<boolean>;
  /** Flush and close; resolves within `timeoutMs` even if the worker hangs. */
  close(timeoutMs?: number): Promise<void>;
}

export interface DaemonLogOptions {
  stateDir: string;
  daemonLog: string;
  coordinatorLog: string;
  level: LogLevel;
  maxSizeMb: number;
  maxFiles: number;
  onError?: (message: string) => void;
}

/** After a transport failure, try daemon.log again this much later (a full disk may clear). */
const RETRY_AFTER_FAILURE_MS = 5 * 60_000;

export async function createDaemonLogger(opts: DaemonLogOptions): Promise<DaemonLog> {
  const dir = join(opts.stateDir, DAEMON_LOG_DIR);
  await fs.mkdir(dir, { recursive: true });
  await ensureLink(opts.daemonLog, `${DAEMON_LOG_DIR}/current.log`);

  let failure: string | null = null;
  let failedAt = 0;
  let seen = false;
  let fallback: ReturnType<typeof pino.destination> | null = null;
  const onTransportError = (err: unknown) => {
    if (failure) return;
    failedAt = Date.now();
    failure = `daemon.log transport failed: ${err instanceof Error ? err.message : String(err)}`;
    process.stderr.write(`sync-coordinator daemon: ${safeValue(failure)}; logging to ${opts.coordinatorLog} instead\n`);
    appendLogLine(
      opts.coordinatorLog,
      'error',
      { component: 'daemon', pid: process.pid },
      `${failure}; the daemon logs to coordinator.log and retries daemon.log every ${RETRY_AFTER_FAILURE_MS / 60_000} minutes`,
    );
    opts.onError?.(failure);
  };
  // pino-roll as a stream in the daemon's own thread, written synchronously: no worker
  // thread (~10 MB of the daemon's memory budget), and no line lost on a signal, since
  // nothing is buffered (a worker's lines are flushed only by exit hooks, which a signal skips).
  const open = async () => {
    const t = await pinoRoll({
      file: join(dir, DAEMON_LOG_BASE),
      extension: '.log',
      size: `${opts.maxSizeMb}m`,
      // pino-roll's count is "in addition to the current file"; max_files counts all.
      limit: { count: Math.max(1, opts.maxFiles - 1), removeOtherLogFiles: true },
      symlink: true,
      mkdir: true,
      sync: true,
    });
    t.on('error', onTransportError);
    return t;
  };
  let transport = await open().catch((e: unknown) => {
    onTransportError(e);
    return null;
  });

  const sink = {
    write(line: string): void {
      if (!failure && transport) {
        try {
          transport.write(line);
          return;
        } catch (e) {
          onTransportError(e);
        }
      }
      if (!fallback) {
        fallback = pino.destination({ dest: opts.coordinatorLog, sync: true, append: true, mkdir: true });
        fallback.on('error', () => {}); // a full disk must not crash the daemon
      }
      try {
        fallback.write(line);
      } catch {
        /* nowhere left to log */
      }
    },
  };

  const logger = pino(
    {
      level: opts.level,
      base: { pid: process.pid, host: hostname() },
      redact: { paths: ['url', 'remote_url'], censor: '[redacted]' },
    },
    sink,
  ) as unknown as Logger;

  const endTransport = async (t: typeof transport, timeoutMs: number) => {
    if (!t) return;
    const closed = once(t, 'close').then(
      () => undefined,
      () => undefined,
    );
    try {
      t.end();
    } catch {
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  };

  let closing: Promise<void> | null = null;
  return {
    logger,
    // pino copies the level into each child when it is made: the daemon makes its
    // children again for each run of its loop.
    setLevel: (level: LogLevel) => {
      (logger as unknown as { level: string }).level = level;
    },
    error: () => failure,
    async reopenIfRemoved() {
      if (closing !== null) return false;
      // The daemon.log link is ours alone: when it is gone, the state directory was
      // removed under us (e.g. `git clean -fdx`). (Directory inodes are no evidence:
      // a re-created directory may get the same number.)
      const linkGone = await fs.lstat(opts.daemonLog).then(
        () => false,
        () => true,
      );
      if (failure) {
        // A failure caused by the directory vanishing is retried at once; others later.
        if (!linkGone && Date.now() - failedAt < RETRY_AFTER_FAILURE_MS) return false;
      } else if (!linkGone) {
        const exists = await fs.stat(opts.daemonLog).then(
          () => true,
          () => false,
        ); // through both links
        if (exists) seen = true;
        // The file is there, or not written yet (the worker opens it asynchronously).
        if (exists || !seen) return false;
      }
      await fs.mkdir(dir, { recursive: true });
      await ensureLink(opts.daemonLog, `${DAEMON_LOG_DIR}/current.log`);
      const old = transport;
      failure = null;
      seen = false;
      transport = await open().catch((e: unknown) => {
        onTransportError(e);
        return null;
      });
      void endTransport(old, 3000);
      return true;
    },
    close(timeoutMs = 3000) {
      closing ??= (async () => {
        if (fallback) {
          try {
            fallback.flushSync();
          } catch {
            /* ignore */
          }
        }
        if (failure) return;
        await endTransport(transport, timeoutMs);
      })();
      return closing;
    },
  };
}

/** `daemon.log` → `logs/current.log`; a regular file left there is kept as daemon.log.old. */
async function ensureLink(link: string, target: string): Promise<void> {
  try {
    const st = await fs.lstat(link);
    if (st.isSymbolicLink() && (await fs.readlink(link)) === target) return;
    if (st.isSymbolicLink()) await fs.rm(link, { force: true });
    else await fs.rename(link, `${link}.old`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  try {
    await fs.symlink(target, link);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}
