/**
 * The one choke point through which every git command runs.
 *
 * Why plain `child_process.spawn` and not simple-git: invariant 8 needs an environment
 * built from an allowlist (simple-git 3.x inherits or replaces `process.env` and throws
 * when `EDITOR` is merely present; 4.x silently drops `GIT_SSH_COMMAND`), an absolute
 * deadline per step (simple-git's `timeout.block` only fires on silence), a kill of the
 * whole process group so ssh/credential helpers do not linger (simple-git SIGINTs git
 * only), and the real exit code on every failure (simple-git treats a non-zero exit
 * with empty stderr as success). All arguments here are ours; untrusted strings only
 * ever appear after `--` or as values we validated, never as options.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../shared/log.js';
import { GitError } from './git-error.js';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for blobs (binary files must not go through utf8). */
  stdoutBytes: Buffer;
}

export interface GitRunOptions {
  /** Read-only probe: adds `--no-optional-locks` so we never take the user's index.lock. */
  readOnly?: boolean;
  /** Exit codes that are not failures for this call (e.g. `diff --quiet` → 1). */
  okCodes?: number[];
  /** Absolute deadline for this command, ms. */
  timeoutMs?: number;
  /** Talks to the remote: may be SIGKILLed after the grace period on timeout. */
  network?: boolean;
  /** Extra `-c key=value` settings, all constants of ours. */
  config?: string[];
  signal?: AbortSignal;
  /** Bytes to write on stdin (otherwise stdin is closed). */
  input?: string | Buffer;
  /** Extra env of ours (constants only), e.g. GIT_EDITOR=true for `rebase --continue`. */
  env?: Record<string, string>;
  /**
   * Paths after `--` are literal file names, never pathspec magic or globs
   * (`--literal-pathspecs`): a file named `*.txt` or `:(top)x` means only itself.
   */
  literalPaths?: boolean;
}

export interface Git {
  readonly cwd: string;
  readonly opId: string | null;
  run(args: readonly string[], opts?: GitRunOptions): Promise<GitResult>;
  /**
   * Same client, carrying an op id (only under the lock: invariant 12), a logger, and a
   * signal that stops every command of the op (lock lost, stuck op, shutdown).
   */
  withOp(opId: string, opts?: { signal?: AbortSignal; logger?: Logger }): Git;
}

/** Variables passed through from the caller's environment; everything else is dropped. */
const PASS_THROUGH = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'TEMP',
  'TMP',
  'SYSTEMROOT',
  'COMSPEC',
  'SSH_AUTH_SOCK',
  'SSH_AGENT_PID',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'all_proxy',
  'XDG_CONFIG_HOME',
  'XDG_RUNTIME_DIR',
  'XDG_CACHE_HOME',
  // The user's chosen transport and config files, needed for auth; not prompts.
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_SSL_CAINFO',
  'GIT_SSL_NO_VERIFY',
  'GIT_CONFIG_NOSYSTEM',
  'GIT_CONFIG_GLOBAL',
  'GIT_CONFIG_SYSTEM',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
] as const;

export function sanitizedEnv(opId: string | null, extra: Record<string, string> = {}, source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of PASS_THROUGH) {
    const value = source[key];
    if (value !== undefined) env[key] = value;
  }
  env.LANG = 'C';
  env.LC_ALL = 'C';
  env.GIT_TERMINAL_PROMPT = '0';
  env.GCM_INTERACTIVE = 'never';
  // ssh must never ask either (host key, passphrase): it has no terminal (detached) and
  // no askpass program.
  env.SSH_ASKPASS_REQUIRE = 'never';
  env.CLAUDE_SYNC_ACTIVE = '1';
  env.AUTOMATED_SYNC = '1';
  if (opId) env.SYNC_COORDINATOR_OP = opId;
  return Object.assign(env, extra);
}

const DEFAULT_TIMEOUT_MS = 120_000;
const KILL_GRACE_MS = 5_000;

/**
 * `envSource` is where the allowlisted variables are read from (default: this process's
 * environment); tests pass their own HOME this way.
 */
export function createGit(
  cwd: string,
  logger: Logger | null,
  opId: string | null = null,
  signal?: AbortSignal,
  envSource: NodeJS.ProcessEnv = process.env,
): Git {
  const git: Git = {
    cwd,
    opId,
    withOp: (id, o = {}) => createGit(cwd, o.logger ?? logger, id, o.signal ?? signal, envSource),
    run: (args, opts = {}) => runGit(cwd, args, signal && !opts.signal ? { ...opts, signal } : opts, opId, logger, envSource),
  };
  return git;
}

function runGit(
  cwd: string,
  args: readonly string[],
  opts: GitRunOptions,
  opId: string | null,
  logger: Logger | null,
  envSource: NodeJS.ProcessEnv,
): Promise<GitResult> {
  const argv: string[] = [];
  if (opts.readOnly) argv.push('--no-optional-locks');
  if (opts.literalPaths) argv.push('--literal-pathspecs');
  argv.push('-c', 'core.quotepath=off', '-c', 'color.ui=false');
  for (const c of opts.config ?? []) argv.push('-c', c);
  argv.push(...args);
  const started = performance.now();
  return new Promise<GitResult>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new GitError(args, -1, '', 'aborted before start', 'aborted'));
      return;
    }
    const child = spawn('git', argv, {
      cwd,
      env: sanitizedEnv(opId, opts.env, envSource),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Own process group: no controlling terminal (ssh cannot prompt) and a timeout
      // can stop git together with its helpers.
      detached: true,
      windowsHide: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    // EPIPE when git exits before reading its input (e.g. not a repository): the exit
    // code tells what happened; an unhandled stream error would crash the process.
    child.stdin?.on('error', () => {});
    if (opts.input !== undefined && child.stdin) child.stdin.end(opts.input);
    let stopReason: 'timeout' | 'aborted' | null = null;
    let killTimer: NodeJS.Timeout | null = null;
    const stop = (why: 'timeout' | 'aborted') => {
      if (stopReason) return;
      stopReason = why;
      // SIGTERM first: git removes its own lock files on SIGTERM, not on SIGKILL.
      killGroup(child.pid, 'SIGTERM');
      if (opts.network) killTimer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const deadline = setTimeout(() => stop('timeout'), opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const onAbort = () => stop('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      clearTimeout(deadline);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(new GitError(args, -1, '', `cannot run git: ${e.message}`, 'spawn'));
    });
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      const bytes = Buffer.concat(out);
      const result: GitResult = {
        code: code ?? -1,
        stdout: bytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBytes: bytes,
      };
      const ms = Math.round(performance.now() - started);
      logger?.debug({ git: args.slice(0, 6), code: result.code, signal, ms, op: opId ?? undefined }, 'git');
      if (stopReason) {
        reject(new GitError(args, result.code, result.stdout, result.stderr, stopReason));
      } else if (result.code === 0 || (opts.okCodes ?? []).includes(result.code)) {
        resolve(result);
      } else {
        reject(new GitError(args, result.code, result.stdout, result.stderr, signal ? 'signal' : 'exit'));
      }
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
