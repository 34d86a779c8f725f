/**
 * The daemon's periodic health check (every `health_interval_s`): free disk space, git
 * integrity, lock owner liveness. Read-only: no git here writes (invariant 12), and the
 * lock is only inspected; a dead owner's lock is taken over by the next processQueue.
 * Stuck operations are watched by the daemon while it processes (daemon.ts), since it
 * is the daemon's own op that can hang.
 */
import type { Config } from '../shared/config.js';
import { MIN_FREE_BYTES, probeDisk, type Statfs } from '../core/probes/disk.js';
import { probeLock } from '../core/probes/lock-probe.js';
import type { Workspace } from '../git/workspace.js';
import { GitError } from '../git/git-error.js';
import type { HealthView } from '../core/daemon-state.js';

/** `git fsck --connectivity-only` only when the repository is this small (it takes well under a second). */
export const FSCK_MAX_OBJECTS = 50_000;
const FSCK_TIMEOUT_MS = 30_000;

export interface HealthDeps {
  statfs?: Statfs;
  minFreeBytes?: number;
  now?: () => number;
}

export async function checkDisk(path: string, deps: HealthDeps = {}): Promise<HealthView['disk']> {
  const min = deps.minFreeBytes ?? MIN_FREE_BYTES;
  const probe = await probeDisk(path, deps.statfs);
  // Cannot tell: do not pause syncs for it.
  if (probe.free_bytes === null) return { free_bytes: null, min_free_bytes: min, ok: true, error: probe.error };
  return { free_bytes: probe.free_bytes, min_free_bytes: min, ok: probe.free_bytes >= min, error: null };
}

export async function checkGit(ws: Workspace, opts: { lockHeld: boolean }): Promise<HealthView['git']> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  try {
    const objects = await countObjects(ws);
    // fsck while another process writes can report a ref that moved under it: only run it idle.
    if (!opts.lockHeld && objects !== null && objects <= FSCK_MAX_OBJECTS) {
      try {
        await ws.git.run(['fsck', '--connectivity-only', '--no-dangling', '--no-progress'], { readOnly: true, timeoutMs: FSCK_TIMEOUT_MS });
        return { ok: true, check: 'fsck', ms: ms(), error: null };
      } catch (e) {
        if (e instanceof GitError && (e.kind === 'timeout' || e.kind === 'aborted'))
          return { ok: true, check: 'fsck', ms: ms(), error: 'fsck timed out (inconclusive)' };
        throw e;
      }
    }
    await headResolves(ws);
    return { ok: true, check: 'rev-parse', ms: ms(), error: null };
  } catch (e) {
    return { ok: false, check: 'rev-parse', ms: ms(), error: firstLine(e) };
  }
}

async function countObjects(ws: Workspace): Promise<number | null> {
  try {
    const out = (await ws.git.run(['count-objects', '-v'], { readOnly: true, timeoutMs: 15_000 })).stdout;
    let total = 0;
    for (const line of out.split('\n')) {
      const m = /^(count|in-pack):\s*(\d+)/.exec(line);
      if (m) total += Number(m[2]);
    }
    return total;
  } catch {
    return null;
  }
}

/** HEAD names a commit whose tree is readable; an unborn branch (no commit yet) is fine. */
async function headResolves(ws: Workspace): Promise<void> {
  const head = await ws.git.run(['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { readOnly: true, timeoutMs: 15_000, okCodes: [1] });
  if (head.code === 1) {
    const any = await ws.git.run(['for-each-ref', '--count=1', '--format=%(refname)', 'refs/heads'], { readOnly: true, timeoutMs: 15_000 });
    if (any.stdout.trim() === '') return; // unborn: nothing to check yet
    throw new Error('HEAD does not resolve to a commit');
  }
  await ws.git.run(['cat-file', '-e', 'HEAD^{tree}'], { readOnly: true, timeoutMs: 15_000 });
}

export async function checkLock(ws: Workspace, config: Config): Promise<HealthView['lock']> {
  const { inspection: l } = await probeLock(ws.paths, config.lock_stale_ms, config.stuck_timeout_s);
  return { held: l.held, stale: l.stale, owner_pid: l.owner?.pid ?? null, owner_caller: l.owner?.caller ?? null };
}

export async function runHealthCheck(ws: Workspace, config: Config, deps: HealthDeps = {}): Promise<HealthView> {
  const now = deps.now ?? Date.now;
  const lock = await checkLock(ws, config);
  const [disk, git] = await Promise.all([checkDisk(ws.root, deps), checkGit(ws, { lockHeld: lock.held && !lock.stale })]);
  const problems: string[] = [];
  if (!disk.ok) problems.push(lowDiskMessage(disk));
  if (!git.ok) problems.push(`git integrity check failed: ${git.error}`);
  if (lock.stale)
    problems.push(`the lock is held by a dead owner (pid ${lock.owner_pid ?? '?'}, ${lock.owner_caller ?? 'no owner record'}); the next sync takes it over`);
  return { at: new Date(now()).toISOString(), ok: problems.length === 0, problems, disk, git, lock };
}

export function lowDiskMessage(disk: HealthView['disk']): string {
  const mb = (n: number) => Math.floor(n / (1024 * 1024));
  return `low disk space: ${disk.free_bytes === null ? '?' : mb(disk.free_bytes)} MB free, below ${mb(disk.min_free_bytes)} MB; syncs are paused until space is freed`;
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
}
