/**
 * Linux /proc views of the processes a chaos run leaves behind: the daemon (detached),
 * orphaned git processes of SIGKILLed CLIs (git runs in its own process group), the
 * git daemon's per-connection children. Everything is found by its working directory
 * or command line inside the run's sandbox, so cleanup only ever touches processes that
 * the run itself started, and kills them one by one by pid.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return null;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== null && s !== 'Z';
}

function pids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

function cwdOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null;
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

const inside = (path: string | null, dir: string) => path !== null && (path === dir || path.startsWith(dir + '/'));

/** Live git processes (or our `git` wrappers) working inside `dir`. */
export function liveGitIn(dir: string): number[] {
  return pids().filter((p) => p !== process.pid && commOf(p).startsWith('git') && inside(cwdOf(p), dir) && isAlive(p));
}

/** Every live process whose cwd or command line is inside `dir` (never this process). */
export function liveProcessesIn(dir: string): number[] {
  return pids().filter((p) => p !== process.pid && isAlive(p) && (inside(cwdOf(p), dir) || cmdlineOf(p).some((a) => inside(a, dir))));
}

/** `daemon run` processes whose command line or cwd is inside `dir`. */
export function daemonProcessesIn(dir: string): number[] {
  return pids().filter((p) => {
    const args = cmdlineOf(p);
    const i = args.indexOf('daemon');
    return i > 0 && args[i + 1] === 'run' && isAlive(p) && (inside(cwdOf(p), dir) || args.some((a) => inside(a, dir)));
  });
}

export function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Live git processes (and our recorder wrappers) in `dir`, with their argv. */
export function gitProcessesIn(dir: string): Array<{ pid: number; argv: string[] }> {
  return liveGitIn(dir).map((pid) => ({ pid, argv: cmdlineOf(pid).filter(Boolean) }));
}
