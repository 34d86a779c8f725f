/** Finding and stopping `daemon run` processes a test started (Linux /proc). */
import { readdirSync, readFileSync } from 'node:fs';

export function tryKill(pid: number, sig: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone */
  }
}

/**
 * Live `daemon run` processes (user or per-workspace) whose command line names a path
 * under `dir`. A child the daemon is forking (git) shows the parent's command line until
 * it execs: skip those.
 */
export function daemonPids(dir: string): number[] {
  const found = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const args = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const i = args.indexOf('daemon');
      if (i > 0 && args[i + 1] === 'run' && args.some((a) => a.startsWith(dir))) found.set(Number(name), Number(fields[1]));
    } catch {
      /* went away */
    }
  }
  return [...found].filter(([, ppid]) => !found.has(ppid)).map(([pid]) => pid);
}
