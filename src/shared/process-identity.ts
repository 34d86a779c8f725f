/**
 * Who a process is, well enough to tell a live lock owner from a dead one whose pid was
 * reused: pid + start time (Linux `/proc/<pid>/stat` field 22, in clock ticks since
 * boot) + boot id. Unknown means alive: we only ever take a lock from a provably dead
 * owner (invariant 9).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  pid: number;
  start_time: string | null;
  boot_id: string | null;
  host: string;
}

let cachedBootId: string | null | undefined;
export function bootId(): string | null {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId;
}

interface ProcStat {
  state: string;
  startTime: string;
}

function readProcStat(pid: number): ProcStat | null | 'unsupported' {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return process.platform === 'linux' ? null : 'unsupported';
    return 'unsupported';
  }
  // The command name (field 2) may contain spaces and parentheses: parse after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const startTime = rest[19];
  if (!state || !startTime) return 'unsupported';
  return { state, startTime };
}

export function processStartTime(pid: number): string | null {
  const st = readProcStat(pid);
  return st && st !== 'unsupported' ? st.startTime : null;
}

export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, start_time: processStartTime(process.pid), boot_id: bootId(), host: hostname() };
}

export type Liveness = 'alive' | 'dead' | 'unknown';

/**
 * Is the process recorded in `who` still that same process? `unknown` (another host, or
 * no way to tell) must be treated as alive by callers that would take something from it.
 */
export function liveness(who: { pid: number; start_time?: string | null; boot_id?: string | null; host?: string }): Liveness {
  if (who.host !== undefined && who.host !== hostname()) return 'unknown';
  const myBoot = bootId();
  if (who.boot_id && myBoot && who.boot_id !== myBoot) return 'dead'; // the machine rebooted since
  if (!Number.isInteger(who.pid) || who.pid <= 0) return 'dead';
  try {
    process.kill(who.pid, 0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'dead';
    // EPERM: exists but belongs to someone else; keep checking identity below.
  }
  const st = readProcStat(who.pid);
  if (st === 'unsupported') return 'alive';
  if (st === null) return 'dead';
  if (st.state === 'Z' || st.state === 'X') return 'dead'; // zombie: it will never release
  if (who.start_time && st.startTime !== who.start_time) return 'dead'; // pid reused
  return 'alive';
}
