/**
 * Runs every check and collects one result per check, in a fixed order. The slow one
 * (the remote, bounded by its own deadline) runs alongside the local ones. Nothing here
 * changes anything: read-only git (`--no-optional-locks`), file reads, stat calls.
 */
import { createGit } from '../git/git.js';
import { defaultConfig } from '../shared/config.js';
import { resolveWorkspace, type Workspace } from '../git/workspace.js';
import { checkBranch } from './branch.js';
import { checkConfig } from './config.js';
import { checkCorrupt } from './corrupt.js';
import { checkDaemon } from './daemon.js';
import { checkUserDaemon } from './user-daemon.js';
import { realpath } from 'node:fs/promises';
import { checkDisk } from './disk.js';
import { checkGitLocks } from './git-locks.js';
import { checkGitVersion } from './git-version.js';
import { checkHooks } from './hooks.js';
import { checkIdentity } from './identity.js';
import { checkInotify } from './inotify.js';
import { checkLock } from './lock.js';
import { judgeQueue, readQueueFacts } from './queue.js';
import { checkRemote } from './remote.js';
import { networkTimeoutMs } from '../git/network.js';
import { checkRepoOps } from './repo-ops.js';
import { checkStateDir } from './state-dir.js';
import { checkTrackedState } from './tracked-state.js';
import { checkConflicts, judgeSyncState, readStateFacts } from './sync-state.js';
import { fail, type CheckResult } from './types.js';
import { UsageError } from '../shared/errors.js';
import { readDaemonInfo } from '../core/pidfile.js';

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
  /** Set when the directory is not inside a git work tree (exit 6, DESIGN.md section 3). */
  notGitRepo: boolean;
  /** Why the doctor stopped early and what it did not check, or absent. */
  stopped?: string;
}

/** The checks that need a work tree (in report order), named when the doctor stops before them. */
const NEEDS_WORK_TREE = [
  'git identity',
  'remote',
  'branch',
  'repository',
  'git lock files',
  'hooks',
  'daemon',
  'user daemon',
  'inotify watches',
  'disk space',
  'state directory',
  'config',
  'lock',
  'queue',
  'corrupt files',
  'sync state',
  'conflicts',
];

export interface DoctorOptions {
  cwd: string;
  remoteTimeoutMs?: number;
  platform?: NodeJS.Platform;
}

/** A check that throws becomes a `fail` line instead of ending the report. */
async function guard(name: string, run: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await run();
  } catch (e) {
    return fail(name, `check failed: ${(e as Error).message}`, null);
  }
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const checks: CheckResult[] = [];
  const version = await checkGitVersion(createGit(process.cwd(), null));
  checks.push(version);
  // Without a git to run, every other check would only repeat it.
  if (version.status === 'fail' && /not on PATH/.test(version.message))
    return { ok: false, checks, notGitRepo: false, stopped: `git is not on PATH; not checked: ${['work tree', ...NEEDS_WORK_TREE].join(', ')}` };
  let ws: Workspace;
  try {
    ws = await resolveWorkspace(opts.cwd);
  } catch (e) {
    if (e instanceof UsageError) throw e; // -C to a path that does not exist: bad input
    checks.push(fail('work tree', (e as Error).message, 'run it inside the git work tree to sync (or pass -C <path>)'));
    return { ok: false, checks, notGitRepo: true, stopped: `not inside a git work tree; not checked: ${NEEDS_WORK_TREE.join(', ')}` };
  }
  const git = ws.git;
  const { result: stateDir, usable } = await checkStateDir(ws);
  // A state dir that is a symlink, not a directory or not accessible is never read
  // through; the other checks then go on with the default config.
  const { result: config, config: cfg } = usable ? await checkConfig(ws.paths.config) : { result: null, config: defaultConfig() };

  // The remote probe (up to its deadline) runs while the local checks run.
  // The same deadline a sync gives every network git command (network_timeout_s).
  const remoteProbe = checkRemote(git, cfg.remote, opts.remoteTimeoutMs ?? networkTimeoutMs(cfg)).catch((e: Error) => ({
    result: fail('remote', `check failed: ${e.message}`, null),
    heads: null,
    url: null,
  }));
  const stateFacts = usable ? readStateFacts(ws.paths.state).catch(() => null) : Promise.resolve(null);
  const local = Promise.all([
    guard('git identity', () => checkIdentity(git)),
    guard('repository', async () => checkRepoOps(git, ws.gitDir, (await stateFacts)?.state.active ?? null)),
    guard('hooks', () => checkHooks(ws)),
    guard('daemon', () => checkDaemon(ws.paths.daemonPid, ws.paths.dir, cfg.process_interval_s)),
    guard('user daemon', async () => checkUserDaemon(await realpath(ws.root))),
    guard('inotify watches', () => checkInotify(git, { platform: opts.platform, watchEnabled: cfg.watch.enabled })),
    guard('disk space', () => checkDisk(ws.root)),
    guard('tracked state', () => checkTrackedState(ws)),
  ]);
  const inStateDir = usable
    ? Promise.all([
        guard('lock', () => checkLock(ws.paths, cfg.lock_stale_ms, cfg.stuck_timeout_s)),
        guard('queue', async () => judgeQueue(await readQueueFacts(ws.paths.queue), (await readDaemonInfo(ws.paths.daemonPid)).running)),
        guard('corrupt files', () => checkCorrupt(ws.paths.dir, ws.root)),
        guard('sync state', async () => {
          const f = await stateFacts;
          if (!f) throw new Error('cannot read coordinator-state.json');
          return judgeSyncState(f.state, f.corrupt, cfg.remote);
        }),
        guard('conflicts', () => checkConflicts(ws.paths.conflictsLog, git)),
      ])
    : Promise.resolve([]);

  const [identity, repoOps, hooks, daemon, userDaemon, inotify, disk, trackedState] = await local;
  const remote = await remoteProbe;
  const branch = await guard('branch', () => checkBranch(git, cfg.remote, cfg.branch, remote.heads));
  const stateChecks = await inStateDir;
  // Last: doctor's own git processes (the remote probe runs in this work tree) would look
  // like a live git holding the locks.
  const gitLocks = await guard('git lock files', () => checkGitLocks(ws));
  checks.push(identity, remote.result, branch, repoOps, gitLocks, hooks, daemon, userDaemon, inotify, disk, stateDir, trackedState);
  if (config) checks.push(config);
  checks.push(...stateChecks);
  return { ok: !checks.some((c) => c.status === 'fail'), checks, notGitRepo: false };
}
