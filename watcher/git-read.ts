/**
 * Read-only git for the watcher. The watcher runs outside the workspace lock, so every
 * call here must be one that cannot change the repository (DESIGN invariant 12):
 * `--no-optional-locks` is always on, which also keeps `status` from refreshing the
 * index (it would take index.lock and race the user's own git).
 *
 * This is a small spawn of its own rather than src/git: the watcher is a leaf module
 * that needs only local, read-only probes with no op id.
 */
import { spawn } from 'node:child_process';

/** Only these come from the caller's environment; GIT_DIR, GIT_INDEX_FILE, GIT_WORK_TREE
 * and the rest of `git rev-parse --local-env-vars` must never leak in from a hook. */
const PASS_THROUGH = ['PATH', 'HOME', 'USER', 'TMPDIR', 'XDG_CONFIG_HOME', 'GIT_CONFIG_NOSYSTEM', 'GIT_CONFIG_GLOBAL'] as const;

export function readOnlyGitEnv(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of PASS_THROUGH) {
    const value = source[key];
    if (value !== undefined) env[key] = value;
  }
  // Our hooks see this and do nothing (invariant 8); C locale keeps output parseable.
  env.CLAUDE_SYNC_ACTIVE = '1';
  env.AUTOMATED_SYNC = '1';
  env.GIT_TERMINAL_PROMPT = '0';
  env.GCM_INTERACTIVE = 'never';
  env.LC_ALL = 'C';
  return env;
}

export class WatcherGitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed (${code ?? 'killed'}): ${stderr.trim().slice(0, 500)}`);
    this.name = 'WatcherGitError';
  }
}

export interface ReadGitOptions {
  /** Written to stdin, then closed (stdin is closed at once otherwise). */
  input?: string;
  /** Exit codes that are answers, not failures (`check-ignore` exits 1 for "none"). */
  okCodes?: readonly number[];
  timeoutMs?: number;
}

export interface ReadGitResult {
  code: number;
  stdout: string;
}

export type ReadGit = (args: readonly string[], opts?: ReadGitOptions) => Promise<ReadGitResult>;

export function createReadGit(cwd: string, envSource: NodeJS.ProcessEnv = process.env): ReadGit {
  const env = readOnlyGitEnv(envSource);
  return (args, opts = {}) => runReadGit(cwd, env, args, opts);
}

function runReadGit(cwd: string, env: NodeJS.ProcessEnv, args: readonly string[], opts: ReadGitOptions): Promise<ReadGitResult> {
  const argv = ['--no-optional-locks', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('git', argv, {
      cwd,
      env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    // EPIPE if git exits before reading everything (e.g. not a repository).
    child.stdin?.on('error', () => {});
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    // Read-only and local: a plain SIGTERM is enough, there is nothing to clean up.
    const deadline = setTimeout(() => child.kill('SIGTERM'), opts.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(deadline);
      reject(new WatcherGitError(args, null, `cannot run git: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(deadline);
      const stdout = Buffer.concat(out).toString('utf8');
      if (code === 0 || (code !== null && opts.okCodes?.includes(code))) {
        resolve({ code, stdout });
      } else {
        reject(new WatcherGitError(args, code, Buffer.concat(err).toString('utf8')));
      }
    });
  });
}
