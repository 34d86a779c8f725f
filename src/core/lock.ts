/**
 * The workspace lock (invariant 9): proper-lockfile's mkdir lock plus an owner record
 * beside it (`lock-owner.json`; never inside the lock dir, where it would wedge
 * proper-lockfile's rmdir with ENOTEMPTY).
 *
 * proper-lockfile's own stale takeover is check-then-act and can let two processes hold
 * the lock (moxystudio/node-proper-lockfile#121), and it robs a merely suspended owner.
 * So it runs with an effectively infinite `stale` and this module decides takeovers:
 * only when the owner is provably dead (same host and boot, pid gone, reused or a
 * zombie), or, with no trustworthy owner record, when the lock dir's mtime is older
 * than `lock_stale_ms`. An owner on another host is never taken over by this module.
 * A takeover happens inside a short takeover mutex and renames the dead lock dir away,
 * so exactly one process wins it. Whether a dead owner's git still runs is asked of
 * shared/proc-scan.ts; the git lock files its killed git left are removed by
 * git/git-lock-files.ts.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import lockfile from 'proper-lockfile';
import { writeFileAtomic } from '../shared/atomic-file.js';
import { LockBusyError, LockLostError } from '../shared/errors.js';
import { removeDeadGitLocks, type RepoDirs } from '../git/git-lock-files.js';
import { liveness, selfIdentity, type Liveness } from '../shared/process-identity.js';
import { processesOfOp } from '../shared/proc-scan.js';
import type { StatePaths } from '../git/workspace.js';
import type { Logger } from '../shared/log.js';

export interface LockOwner {
  caller: string;
  pid: number;
  start_time: string | null;
  boot_id: string | null;
  host: string;
  op: string | null;
  since: string;
  /** Ties the record to one lock dir: a record left by an earlier holder is not trusted. */
  token: string;
  lock_ino: number;
  lock_birthtime_ms: number;
}

export interface LockHandle {
  readonly owner: LockOwner;
  /** Aborted when the lock is compromised (removed or taken from under us). */
  readonly signal: AbortSignal;
  /** Fencing: throws LockLostError unless we still own the lock. Call before every mutating step. */
  assertOwned(): Promise<void>;
  /** Record the op id in the owner record (after the op id is known). */
  setOp(op: string): Promise<void>;
  release(): Promise<void>;
}

export interface LockInspection {
  held: boolean;
  /** Held, but the owner is provably dead (or the lock is old and has no owner record). */
  stale: boolean;
  owner: LockOwner | null;
  ownerLiveness: Liveness | null;
  ageMs: number | null;
}

/** proper-lockfile never breaks the lock on mtime by itself; we decide (see above). */
const NEVER_STALE_MS = 2 ** 31 - 1;
const TAKEOVER_MUTEX_STALE_MS = 10_000;

export interface LockOptions {
  paths: StatePaths;
  logger: Logger;
  staleMs: number;
  /** Work tree and git dir: for cleaning git lock files a dead owner's git left behind. */
  repo?: RepoDirs;
}

export async function acquireLock(
  opts: LockOptions,
  who: { caller: string; op?: string | null; timeoutMs: number; signal?: AbortSignal },
): Promise<LockHandle> {
  const deadline = Date.now() + who.timeoutMs;
  let delay = 15;
  for (;;) {
    const handle = await tryAcquire(opts, who.caller, who.op ?? null);
    if (handle) return handle;
    const inspection = await inspectLock(opts.paths, opts.staleMs);
    if (inspection.stale) {
      await takeOver(opts, inspection);
      continue;
    }
    if (Date.now() >= deadline || who.signal?.aborted) {
      throw new LockBusyError(busyMessage(inspection, who.timeoutMs));
    }
    const wait = Math.min(delay, Math.max(1, deadline - Date.now()));
    await sleep(wait / 2 + Math.random() * wait);
    delay = Math.min(delay * 2, 250);
  }
}

export function describeOwner(owner: LockOwner | null): string {
  if (!owner) return 'an unknown owner';
  // The host name is shown only for another machine (a shared filesystem): users name
  // their device with device_name, and the machine's own name need not be printed.
  return `${JSON.stringify(owner.caller)} (pid ${owner.pid} on ${owner.host === hostname() ? 'this device' : owner.host}${owner.op ? `, op ${owner.op}` : ''}, since ${owner.since})`;
}

function busyMessage(inspection: LockInspection, timeoutMs: number): string {
  return `lock busy: held by ${describeOwner(inspection.owner)} for more than ${Math.round(timeoutMs / 1000)} s; try again later, or see "sync-coordinator status"`;
}

async function tryAcquire(opts: LockOptions, caller: string, op: string | null): Promise<LockHandle | null> {
  const controller = new AbortController();
  let releaseFn: () => Promise<void>;
  try {
    releaseFn = await lockfile.lock(opts.paths.dir, {
      lockfilePath: opts.paths.lockDir,
      realpath: false,
      stale: NEVER_STALE_MS,
      update: Math.max(1000, Math.floor(opts.staleMs / 2)),
      retries: 0,
      // proper-lockfile's default throws from a timer and would kill the process.
      onCompromised: (err: Error) => {
        opts.logger.error({ err: err.message }, 'lock compromised: stopping the current operation');
        controller.abort(new LockLostError(`lost the workspace lock: ${err.message}`));
      },
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOCKED' || code === 'EEXIST') return null;
    if (code === 'ENOENT') {
      await fs.mkdir(opts.paths.dir, { recursive: true });
      return null;
    }
    throw e;
  }
  const st = await fs.stat(opts.paths.lockDir);
  const owner: LockOwner = {
    caller,
    ...selfIdentity(),
    op,
    since: new Date().toISOString(),
    token: randomBytes(8).toString('hex'),
    lock_ino: st.ino,
    lock_birthtime_ms: st.birthtimeMs,
  };
  // Not fsynced: the record only has to outlive a process, not the machine. After a
  // reboot the boot id differs and a lost or torn record falls to the mtime rule.
  await writeFileAtomic(opts.paths.lockOwner, JSON.stringify(owner) + '\n', { fsync: false, fsyncDir: false });
  let released = false;
  const handle: LockHandle = {
    owner,
    signal: controller.signal,
    async assertOwned() {
      if (controller.signal.aborted) throw controller.signal.reason instanceof Error ? controller.signal.reason : new LockLostError('lost the workspace lock');
      const [record, dir] = await Promise.all([readOwner(opts.paths.lockOwner), statOrNull(opts.paths.lockDir)]);
      if (!dir || dir.ino !== owner.lock_ino || record?.token !== owner.token) {
        const err = new LockLostError(`lost the workspace lock (now held by ${describeOwner(record)})`);
        controller.abort(err);
        throw err;
      }
    },
    async setOp(newOp: string) {
      owner.op = newOp;
      await writeFileAtomic(opts.paths.lockOwner, JSON.stringify(owner) + '\n', { fsync: false, fsyncDir: false });
    },
    async release() {
      if (released) return;
      released = true;
      // Remove our record first, while we still hold the lock: a crash in between leaves
      // a lock dir without a record, which the mtime rule frees after lock_stale_ms.
      const record = await readOwner(opts.paths.lockOwner);
      if (record?.token === owner.token) await fs.rm(opts.paths.lockOwner, { force: true });
      await releaseFn().catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ERELEASED' && e.code !== 'ENOENT') opts.logger.warn({ err: e.message }, 'lock release failed');
      });
    },
  };
  return handle;
}

export async function readOwner(file: string): Promise<LockOwner | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.token !== 'string' || typeof parsed.caller !== 'string') return null;
    return parsed as LockOwner;
  } catch {
    return null;
  }
}

async function statOrNull(path: string) {
  try {
    return await fs.stat(path);
  } catch {
    return null;
  }
}

export async function inspectLock(paths: StatePaths, staleMs: number): Promise<LockInspection> {
  const dir = await statOrNull(paths.lockDir);
  if (!dir) return { held: false, stale: false, owner: null, ownerLiveness: null, ageMs: null };
  const record = await readOwner(paths.lockOwner);
  const trusted =
    record && record.lock_ino === dir.ino && (!record.lock_birthtime_ms || !dir.birthtimeMs || record.lock_birthtime_ms === dir.birthtimeMs) ? record : null;
  const mtimeAge = Date.now() - dir.mtimeMs;
  if (trusted) {
    const alive = liveness(trusted);
    // git runs in its own process group, so a SIGKILLed owner can leave its git running;
    // until that git exits the owner's operation is not over (invariant 1).
    if (alive === 'dead' && !(trusted.op && processesOfOp(trusted.op).length > 0)) {
      return { held: true, stale: true, owner: trusted, ownerLiveness: alive, ageMs: mtimeAge };
    }
    // Alive, or another host's (a shared file system, or a record that came from a
    // checkout): nothing here can prove that owner dead, and an old mtime proves nothing
    // either (a suspended or slow owner stops refreshing it). Only `release-lock --force`
    // frees it, logged (invariant 9).
    return { held: true, stale: false, owner: trusted, ownerLiveness: alive, ageMs: mtimeAge };
  }
  // No record (a crash between mkdir and writing it): judge by age alone.
  return { held: true, stale: mtimeAge > staleMs, owner: null, ownerLiveness: null, ageMs: mtimeAge };
}

/**
 * Break a dead owner's lock. Single winner: the takeover mutex (mkdir) serializes the
 * judges, and the judgement is repeated inside it against the same lock dir inode.
 */
async function takeOver(opts: LockOptions, judged: LockInspection): Promise<boolean> {
  const mutex = `${opts.paths.lockDir}.takeover`;
  try {
    await fs.mkdir(mutex);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = await statOrNull(mutex);
    // A judge killed inside the mutex (a window of microseconds) must not block forever.
    if (st && Date.now() - st.mtimeMs > TAKEOVER_MUTEX_STALE_MS) await fs.rm(mutex, { recursive: true, force: true });
    return false;
  }
  try {
    const before = await statOrNull(opts.paths.lockDir);
    const again = await inspectLock(opts.paths, opts.staleMs);
    if (!before || !again.stale || again.owner?.token !== judged.owner?.token) return false;
    const graveyard = `${opts.paths.lockDir}.stale-${randomBytes(4).toString('hex')}`;
    await fs.rename(opts.paths.lockDir, graveyard);
    await fs.rm(graveyard, { recursive: true, force: true });
    if (again.owner) await fs.rm(opts.paths.lockOwner, { force: true });
    opts.logger.warn(
      { dead_owner: again.owner, liveness: again.ownerLiveness, age_ms: again.ageMs },
      again.owner ? `took over the lock of dead owner ${describeOwner(again.owner)}` : 'took over a stale lock without owner record',
    );
    if (opts.repo) await removeDeadGitLocks(opts.repo, opts.logger);
    return true;
  } finally {
    await fs.rm(mutex, { recursive: true, force: true });
  }
}

/**
 * `release-lock`: free the lock if `caller` owns it, if its owner is dead, or with
 * `force`. A live owner that is not `caller` is never robbed: LockBusyError (exit 4).
 */
export async function releaseLockFor(
  opts: LockOptions,
  caller: string,
  force: boolean,
): Promise<{ released: boolean; owner: LockOwner | null; reason: string }> {
  const inspection = await inspectLock(opts.paths, opts.staleMs);
  if (!inspection.held) return { released: false, owner: null, reason: 'no lock is held' };
  const owner = inspection.owner;
  let reason: string;
  if (force) reason = 'forced';
  else if (inspection.stale) reason = 'owner is dead';
  else if (owner && owner.caller === caller) reason = 'released by its caller';
  else throw new LockBusyError(`lock is held by live owner ${describeOwner(owner)}; not releasing (use --force only if you are sure)`);
  // Recursive: a stray file inside the lock dir would otherwise wedge it (ENOTEMPTY).
  const graveyard = `${opts.paths.lockDir}.released-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(opts.paths.lockDir, graveyard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { released: false, owner, reason: 'no lock is held' };
    throw e;
  }
  await fs.rm(graveyard, { recursive: true, force: true });
  await fs.rm(opts.paths.lockOwner, { force: true });
  opts.logger.warn({ caller, owner, reason }, `release-lock: lock released (${reason})`);
  if (opts.repo && inspection.stale) await removeDeadGitLocks(opts.repo, opts.logger);
  return { released: true, owner, reason };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
