/**
 * Read-only git for the watcher, through the project's one git choke point
 * (src/git/git.ts: sanitized environment, deadline, real exit codes). The watcher runs
 * outside the workspace lock, so every call here is read-only (DESIGN invariant 12):
 * `readOnly` adds `--no-optional-locks`, which also keeps `status` from refreshing the
 * index (it would take index.lock and race the user's own git).
 */
import { createGit, sanitizedEnv } from '../src/git/git.js';
import { GitError } from '../src/git/git-error.js';

/** The environment of the watcher's git children (the choke point's, without op id). */
export function readOnlyGitEnv(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return sanitizedEnv(null, {}, source);
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
  const git = createGit(cwd, null, null, undefined, envSource);
  return async (args, opts = {}) => {
    try {
      const r = await git.run(args, {
        readOnly: true,
        okCodes: [...(opts.okCodes ?? [])],
        timeoutMs: opts.timeoutMs ?? 30_000,
        ...(opts.input === undefined ? {} : { input: opts.input }),
      });
      return { code: r.code, stdout: r.stdout };
    } catch (e) {
      if (e instanceof GitError) throw new WatcherGitError(args, e.kind === 'exit' ? e.exitCode : null, e.stderr);
      throw e;
    }
  };
}
