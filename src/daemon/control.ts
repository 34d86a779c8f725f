/**
 * `daemon start` and `daemon stop` as functions: start spawns `daemon run` detached and
 * waits (bounded) until daemon.pid names the new process; stop sends SIGTERM and waits
 * (bounded) until the process is gone.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { mainBinPath } from '../shared/package-root.js';
import { liveness } from '../shared/process-identity.js';
import { daemonStatePath, readDaemonState } from '../core/daemon-state.js';
import { readDaemonInfo, removeStalePidFile, type DaemonInfo } from '../core/pidfile.js';

/** stdout/stderr of a detached daemon: what it prints before its logger runs (and crashes). */
export function daemonOutPath(stateDir: string): string {
  return join(stateDir, 'daemon.out');
}
const OUT_MAX_BYTES = 1024 * 1024;
const STATE_GRACE_MS = 5_000;

/** Variables that must not leak from the starter into the daemon (a hook's git env, our own markers). */
const DROP_ENV = [
  'CLAUDE_SYNC_ACTIVE',
  'AUTOMATED_SYNC',
  'SYNC_COORDINATOR_OP',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_PREFIX',
];

export type StartOutcome =
  | { status: 'started'; pid: number }
  | { status: 'already-running'; pid: number | null; since: string | null }
  | { status: 'failed'; message: string; output: string };

/**
 * The daemon idles for hours (RSS budget: 60 MB watching 10,000 files):
 * - `--max-semi-space-size=1`: a small young generation keeps V8 from holding on to
 *   the tens of MB the initial watch scan grows it by.
 * - `--no-opt`: no TurboFan. The compiler's code pages in the node binary, its zone
 *   memory and the optimized code stay resident long after the burst that made them;
 *   a one-file sync is as fast without it, only a burst of thousands of files reaches
 *   the remote a little later. Sparkplug (baseline code) stays: --lite-mode (jitless)
 *   costs that burst more time again and prints a warning at every start. The figures
 *   are in the README ("Measured", daemon flags).
 * - `--expose-gc`: lets the daemon collect once after a burst of work (daemon.ts,
 *   idleCollector).
 *
 * The service files of `daemon install-service` (service.ts) start node with the same
 * flags; a `daemon run` started by hand runs without them: the same daemon, with a
 * larger footprint.
 */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--no-opt', '--expose-gc'];

/**
 * `args` default: a per-workspace daemon for `root` (`-C <root> daemon run`); the user
 * daemon passes its own (`-C <its state dir> daemon run --user`).
 */
export async function startDaemon(opts: {
  root: string;
  stateDir: string;
  pidFile: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  args?: string[];
}): Promise<StartOutcome> {
  const before = await readDaemonInfo(opts.pidFile);
  if (before.running) return { status: 'already-running', pid: before.pid, since: before.since };

  const outFile = daemonOutPath(opts.stateDir);
  await truncateIfLarge(outFile);
  const out = await fs.open(outFile, 'a', 0o600);
  const startOffset = (await out.stat()).size;
  const env = { ...(opts.env ?? process.env) };
  for (const k of DROP_ENV) delete env[k];
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: Error | null = null;
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, mainBinPath(), ...(opts.args ?? ['-C', opts.root, 'daemon', 'run'])], {
    cwd: opts.root,
    env,
    detached: true, // own session: not killed with the starter's terminal or process group
    stdio: ['ignore', out.fd, out.fd],
    windowsHide: true,
  });
  await out.close();
  child.on('exit', (code, signal) => (exited = { code, signal }));
  child.on('error', (e) => (spawnError = e));
  child.unref();

  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const stateFile = daemonStatePath(opts.stateDir);
  let pidSeenAt = 0;
  for (;;) {
    const info = await readDaemonInfo(opts.pidFile);
    if (info.running && info.pid === child.pid) {
      // Up means serving: it writes daemon-state.json once the spool watch (and the
      // watcher) run. A daemon that cannot write that file still counts after a while.
      pidSeenAt ||= Date.now();
      const st = await readDaemonState(stateFile);
      if ((st?.pid === child.pid && !st.stopped_at) || Date.now() - pidSeenAt > STATE_GRACE_MS) return { status: 'started', pid: child.pid };
    }
    if (spawnError) return { status: 'failed', message: `cannot start node: ${(spawnError as Error).message}`, output: '' };
    if (exited) {
      const e = exited as { code: number | null; signal: NodeJS.Signals | null };
      if (e.code === 4 && info.running) return { status: 'already-running', pid: info.pid, since: info.since };
      return {
        status: 'failed',
        message: `the daemon exited during start-up (${e.signal ? `signal ${e.signal}` : `exit ${e.code}`})`,
        output: await readFrom(outFile, startOffset),
      };
    }
    if (Date.now() > deadline) {
      if (child.pid) process.kill(child.pid, 'SIGTERM');
      return {
        status: 'failed',
        message: `the daemon did not write daemon.pid within ${Math.round((opts.timeoutMs ?? 15_000) / 1000)} s; stopped it`,
        output: await readFrom(outFile, startOffset),
      };
    }
    await sleep(40);
  }
}

export type StopOutcome =
  | { status: 'stopped'; pid: number }
  | { status: 'not-running'; removedStalePidFile: boolean; notDaemonPid?: number }
  | { status: 'timeout'; pid: number };

export async function stopDaemon(opts: { pidFile: string; timeoutMs?: number }): Promise<StopOutcome> {
  // Never signal a process whose command line is not a daemon's (a forged pid file).
  const info: DaemonInfo = await readDaemonInfo(opts.pidFile, { verifyCommand: true });
  if (info.notDaemonPid !== undefined) return { status: 'not-running', removedStalePidFile: false, notDaemonPid: info.notDaemonPid };
  if (!info.running || info.pid === null) {
    const removed = info.stalePidFile ? await removeStalePidFile(opts.pidFile) : false;
    return { status: 'not-running', removedStalePidFile: removed };
  }
  const pid = info.pid;
  const startTime = await pidStartTime(opts.pidFile);
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return { status: 'not-running', removedStalePidFile: await removeStalePidFile(opts.pidFile) };
    throw e;
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() <= deadline) {
    if (liveness({ pid, start_time: startTime }) === 'dead') return { status: 'stopped', pid };
    await sleep(50);
  }
  return { status: 'timeout', pid };
}

async function pidStartTime(file: string): Promise<string | null> {
  try {
    return (await fs.readFile(file, 'utf8')).split('\n')[1]?.trim() || null;
  } catch {
    return null;
  }
}

async function truncateIfLarge(file: string): Promise<void> {
  try {
    if ((await fs.stat(file)).size > OUT_MAX_BYTES) await fs.truncate(file, 0);
  } catch {
    /* absent */
  }
}

async function readFrom(file: string, offset: number): Promise<string> {
  try {
    const buf = await fs.readFile(file);
    return buf.subarray(offset).toString('utf8').slice(-4000);
  } catch {
    return '';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
