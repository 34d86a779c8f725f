/**
 * daemon.pid: line 1 pid, line 2 process start time (/proc stat field 22), line 3 the
 * ISO time it started. Plain lines so the sh hooks can read it with `read`. A pid file
 * whose process is gone or whose pid was reused does not count as a running daemon.
 *
 * Single instance: the file is claimed with `link(tmp, daemon.pid)`, which fails with
 * EEXIST like O_EXCL but publishes a complete file (an O_EXCL open followed by a write
 * would let a reader see an empty file and judge it stale). A stale file is moved aside
 * by rename and re-read; only the exact text that was judged dead is discarded.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDir, tempPathFor } from '../shared/atomic-file.js';
import { liveness, selfIdentity } from '../shared/process-identity.js';

export interface DaemonInfo {
  running: boolean;
  pid: number | null;
  since: string | null;
  stalePidFile: boolean;
  /** With verifyCommand: the live process the pid file names, which is not a daemon. */
  notDaemonPid?: number;
}

const ABSENT: DaemonInfo = { running: false, pid: null, since: null, stalePidFile: false };

/**
 * `verifyCommand` (daemon stop, daemon status): also require that the live process's
 * command line is a sync-coordinator daemon, before it is signalled or reported. Pid and
 * start time alone trust the pid file, which anything that writes the state directory
 * (a checkout of a tracked file, for one) can forge to name any process.
 */
export async function readDaemonInfo(file: string, opts: { verifyCommand?: boolean } = {}): Promise<DaemonInfo> {
  const text = await readText(file);
  if (text === null) return ABSENT;
  const info = judgePidText(text);
  if (opts.verifyCommand && info.running && info.pid !== null && daemonCommandVerdict(info.pid) === 'other') {
    return { running: false, pid: null, since: null, stalePidFile: false, notDaemonPid: info.pid };
  }
  return info;
}

/** Is this command line (argv, or `ps` text) a sync-coordinator daemon's? */
export function isDaemonCommandLine(argv: readonly string[]): boolean {
  const base = (a: string) => a.slice(a.lastIndexOf('/') + 1).replace(/\.(m?js)$/, '');
  const at = argv.findIndex((a) => /^(claude-)?sync-coordinator$|^claude-sync-daemon$/.test(base(a)));
  if (at < 0) return false;
  const rest = argv.slice(at + 1);
  if (base(argv[at]!) === 'claude-sync-daemon') return rest.includes('run');
  const d = rest.indexOf('daemon');
  return d >= 0 && rest.indexOf('run', d + 1) > d;
}

/**
 * `daemon` when the process's command line is a sync-coordinator daemon's, `other` when
 * it certainly is not, `unknown` when it cannot be read (then pid + start time decide, as
 * before). Linux: /proc/<pid>/cmdline; elsewhere `ps`, split on blanks (a path with a
 * blank in it then reads as not ours, which only makes stop and status more careful).
 */
export function daemonCommandVerdict(pid: number): 'daemon' | 'other' | 'unknown' {
  let argv: string[];
  try {
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch (e) {
    if (process.platform === 'linux') return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'other' : 'unknown';
    try {
      argv = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] })
        .trim()
        .split(/\s+/);
    } catch {
      return 'unknown';
    }
  }
  // A kernel thread or a zombie has an empty command line.
  if (argv.length === 0) return 'other';
  return isDaemonCommandLine(argv) ? 'daemon' : 'other';
}

/** The same judgement as readDaemonInfo, on text already read. */
export function judgePidText(text: string): DaemonInfo {
  const [pidLine = '', startTime = '', since = ''] = text.split('\n');
  const pid = Number(pidLine.trim());
  if (!Number.isInteger(pid) || pid <= 0) return { running: false, pid: null, since: null, stalePidFile: true };
  const alive = liveness({ pid, start_time: startTime.trim() || null });
  if (alive === 'dead') return { running: false, pid: null, since: null, stalePidFile: true };
  return { running: true, pid, since: since.trim() || null, stalePidFile: false };
}

export function pidFileContent(): string {
  const me = selfIdentity();
  return `${me.pid}\n${me.start_time ?? ''}\n${new Date().toISOString()}\n`;
}

export type PidClaim = { acquired: true; content: string; replacedStale: string | null } | { acquired: false; running: DaemonInfo };

/**
 * Make this process the workspace's daemon, or report the live one. `replacedStale` is
 * the text of a dead daemon's pid file that was discarded (the caller logs it).
 */
export async function claimPidFile(file: string, content = pidFileContent()): Promise<PidClaim> {
  let replacedStale: string | null = null;
  for (let attempt = 0; attempt < 20; attempt++) {
    if (await linkNew(file, content)) {
      await fsyncDir(dirname(file));
      return { acquired: true, content, replacedStale };
    }
    const seen = await readText(file);
    if (seen === null) continue; // removed meanwhile: try again
    const info = judgePidText(seen);
    if (info.running) return { acquired: false, running: info };
    // Stale. Move it aside atomically and make sure we moved the file we judged: another
    // starter may have replaced it with a live one in between.
    const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
    try {
      await fs.rename(file, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    const moved = await readText(aside);
    if (moved !== seen && moved !== null && judgePidText(moved).running) {
      // Not ours to discard: put it back (unless yet another daemon claimed meanwhile;
      // that daemon's self-check then sees itself alone and the other one exits).
      await fs.link(aside, file).catch(() => {});
    } else {
      replacedStale = seen;
    }
    await fs.rm(aside, { force: true });
  }
  throw new Error(`cannot claim ${file}: it keeps changing (another daemon starting?)`);
}

export type PidOwnership = 'ours' | 'missing' | 'other-live' | 'other-stale';

/** The daemon's periodic self-check: is the pid file still ours? */
export async function pidFileOwnership(file: string, content: string): Promise<PidOwnership> {
  const text = await readText(file);
  if (text === null) return 'missing';
  if (text === content) return 'ours';
  return judgePidText(text).running ? 'other-live' : 'other-stale';
}

/** Put our pid file back after someone removed it (e.g. `git clean -fdx`). */
export async function restorePidFile(file: string, content: string): Promise<boolean> {
  return linkNew(file, content);
}

/** Remove the pid file only if it is still ours. */
export async function releasePidFile(file: string, content: string): Promise<boolean> {
  const text = await readText(file);
  if (text !== content) return false;
  await fs.rm(file, { force: true });
  return true;
}

/** Remove a pid file left by a dead daemon (the text must still be the stale one). */
export async function removeStalePidFile(file: string): Promise<boolean> {
  const text = await readText(file);
  if (text === null || judgePidText(text).running) return false;
  const aside = `${file}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(file, aside);
  } catch {
    return false;
  }
  const moved = await readText(aside);
  if (moved !== text) await fs.link(aside, file).catch(() => {});
  await fs.rm(aside, { force: true });
  return moved === text;
}

async function linkNew(file: string, content: string): Promise<boolean> {
  const tmp = tempPathFor(file);
  const handle = await fs.open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(content, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

async function readText(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return null;
  }
}
