/**
 * Where things are: the work tree, its git dirs, and the state directory's files
 * (DESIGN.md section 2). Resolved once per process with one read-only git call.
 */
import { constants, promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { NotGitRepoError, StateDirError, UsageError } from '../shared/errors.js';
import { createGit, type Git } from './git.js';
import { GitError } from './git-error.js';

export const STATE_DIR_REL = '.claude/sync-coordination';

export interface StatePaths {
  dir: string;
  config: string;
  state: string;
  lockDir: string;
  lockOwner: string;
  queue: string;
  results: string;
  coordinatorLog: string;
  daemonLog: string;
  conflictsLog: string;
  daemonPid: string;
}

export interface Workspace {
  root: string;
  gitDir: string;
  commonDir: string;
  paths: StatePaths;
  /** Read-only git client without op id (invariant 12); `withOp` under the lock. */
  git: Git;
}

export function statePaths(root: string): StatePaths {
  const dir = join(root, STATE_DIR_REL);
  return {
    dir,
    config: join(dir, 'config.json'),
    state: join(dir, 'coordinator-state.json'),
    lockDir: join(dir, 'sync-coordinator.lock'),
    lockOwner: join(dir, 'lock-owner.json'),
    queue: join(dir, 'queue'),
    results: join(dir, 'results'),
    coordinatorLog: join(dir, 'coordinator.log'),
    daemonLog: join(dir, 'daemon.log'),
    conflictsLog: join(dir, 'conflicts.log'),
    daemonPid: join(dir, 'daemon.pid'),
  };
}

export async function resolveWorkspace(cwd: string): Promise<Workspace> {
  const start = resolve(cwd);
  // A path that does not exist (a typo in -C) is bad input, not "not a repository".
  try {
    const st = await fs.stat(start);
    if (!st.isDirectory()) throw new UsageError(`cannot use ${start}: not a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot use ${start}: no such directory`);
  }
  const probe = createGit(start, null);
  let out: string;
  try {
    out = (
      await probe.run(['rev-parse', '--is-inside-work-tree', '--show-toplevel', '--absolute-git-dir', '--git-common-dir'], {
        readOnly: true,
        timeoutMs: 15_000,
      })
    ).stdout;
  } catch (e) {
    const detail = e instanceof GitError ? (e.stderr.trim().split('\n')[0] ?? '') : String(e);
    throw new NotGitRepoError(`not inside a git work tree: ${start}${detail ? ` (${detail})` : ''}`);
  }
  const [inside, top, gitDir, common] = out.split('\n');
  if (inside !== 'true' || !top || !gitDir || !common) {
    throw new NotGitRepoError(`not inside a git work tree: ${start} (a bare repository or inside .git)`);
  }
  // --git-common-dir is relative to the directory git ran in when it is not absolute.
  const commonDir = common.startsWith('/') ? common : resolve(start, common);
  return { root: top, gitDir, commonDir, paths: statePaths(top), git: createGit(top, null) };
}

/**
 * Make sure the state directory exists, is a real directory (not a symlink, which could
 * redirect our writes anywhere) and is writable; on first creation add it to
 * `.git/info/exclude` so it is never committed.
 */
export async function ensureStateDir(ws: Workspace): Promise<{ created: boolean }> {
  await assertStateDirSafe(ws);
  let created = false;
  try {
    await fs.mkdir(ws.paths.dir, { recursive: false });
    created = true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      await fs.mkdir(ws.paths.dir, { recursive: true });
      created = true;
    } else if (code !== 'EEXIST') {
      throw new StateDirError(`cannot create state directory ${ws.paths.dir}: ${(e as Error).message}`);
    }
  }
  try {
    await fs.access(ws.paths.dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new StateDirError(`state directory ${ws.paths.dir} is not writable; fix its permissions (chmod u+rwx)`);
  }
  await fs.mkdir(ws.paths.queue, { recursive: true });
  await fs.mkdir(ws.paths.results, { recursive: true });
  // Always (not only on creation): a state dir made by hand or by an older version must
  // never be committed either. A read of a small file when the line is already there.
  await addToInfoExclude(ws);
  return { created };
}

/** Read-only check, before anything is read from or written to the state directory. */
export async function assertStateDirSafe(ws: Workspace): Promise<void> {
  await refuseSymlink(join(ws.root, '.claude'));
  await refuseSymlink(ws.paths.dir);
}

async function refuseSymlink(path: string): Promise<void> {
  try {
    const st = await fs.lstat(path);
    if (st.isSymbolicLink()) {
      throw new StateDirError(`${path} is a symlink; the state directory must be a real directory inside the work tree (remove the link)`);
    }
    if (!st.isDirectory()) {
      throw new StateDirError(`${path} exists but is not a directory; move it away`);
    }
  } catch (e) {
    if (e instanceof StateDirError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateDirError(`cannot inspect ${path}: ${(e as Error).message}`);
  }
}

/** Idempotent: the exclude line is added once, in the common dir (shared by worktrees). */
export async function addToInfoExclude(ws: Workspace): Promise<boolean> {
  const exclude = join(ws.commonDir, 'info', 'exclude');
  const line = `/${STATE_DIR_REL}/`;
  let text = '';
  try {
    text = await fs.readFile(exclude, 'utf8');
  } catch {
    /* absent */
  }
  if (text.split('\n').some((l) => l.trim() === line)) return false;
  await fs.mkdir(join(ws.commonDir, 'info'), { recursive: true });
  const prefix = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
  await fs.appendFile(exclude, `${prefix}# sync-coordinator state (never committed)\n${line}\n`);
  return true;
}
