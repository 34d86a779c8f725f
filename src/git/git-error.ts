import { redactUrls } from '../shared/redact.js';

export type GitFailureKind = 'exit' | 'signal' | 'timeout' | 'aborted' | 'spawn';

/** A git command that did not succeed, with its real exit code and output. */
export class GitError extends Error {
  readonly args: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly kind: GitFailureKind;
  constructor(args: readonly string[], exitCode: number, stdout: string, stderr: string, kind: GitFailureKind) {
    const first = redactUrls(stderr.trim() || stdout.trim())
      .split('\n')
      .slice(-3)
      .join(' | ');
    super(
      `git ${args[0] ?? ''} ${kind === 'timeout' ? 'timed out' : kind === 'aborted' ? 'was aborted' : `failed (exit ${exitCode})`}${first ? `: ${first}` : ''}`,
    );
    this.name = 'GitError';
    this.args = args;
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
    this.kind = kind;
  }
}
