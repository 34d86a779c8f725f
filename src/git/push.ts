/**
 * Push: always an explicit `HEAD:refs/heads/<branch>`, never a force option, and the
 * outcome read from the per-ref `--porcelain` status, not from prose or the exit code
 * alone (a server-side rejection can exit 0, a hook's text can say "fetch first").
 */
export type PushRefStatus = 'ok' | 'up-to-date' | 'rejected-non-ff' | 'remote-busy' | 'remote-rejected' | 'error';

import { SyncFailedError } from '../shared/errors.js';
import { remoteSaid } from './remote-said.js';

export interface PushResult {
  status: PushRefStatus;
  summary: string;
  /** The server's own `remote:` lines (sanitized, bounded): why it refused, if it said. */
  remote: string[];
  /** The push created the branch on the remote (porcelain flag `*`). */
  created?: boolean;
}

/**
 * `stderr` is where the server's reason is (`remote: ...` lines); the porcelain line
 * on stdout only says "pre-receive hook declined".
 */
export function parsePushPorcelain(stdout: string, ref: string, stderr = ''): PushResult | null {
  const found = parseRefLine(stdout, ref);
  return found ? { ...found, remote: remoteSaid(stderr) } : null;
}

/**
 * The error for a push the server refused (`remote-rejected`) or that failed for good
 * (`error`): git's summary plus what the remote said, on one line.
 */
export function pushRefusedError(result: PushResult, opts: { ref?: string; attempts?: number } = {}): SyncFailedError {
  const said = result.remote.length ? `; the remote said: ${result.remote.join(' | ')}` : '';
  if (result.status === 'remote-rejected') {
    return new SyncFailedError(`the remote rejected the push (${result.summary})${said}; check branch protection or server hooks`, { code: 'EREMOTEREJECTED' });
  }
  const what = opts.ref ? `push of ${opts.ref}` : 'push';
  return new SyncFailedError(`${what} failed${opts.attempts ? ` after ${opts.attempts} attempt(s)` : ''}: ${result.summary}${said}`, {
    code: 'EPUSH',
    retryable: false,
  });
}

function parseRefLine(stdout: string, ref: string): Omit<PushResult, 'remote'> | null {
  for (const line of stdout.split('\n')) {
    const parts = line.split('\t');
    if (parts.length < 3) continue;
    const [flag, refs, summary = ''] = parts;
    if (!refs?.endsWith(`:${ref}`)) continue;
    switch (flag) {
      case '*':
        return { status: 'ok', summary, created: true };
      case ' ':
      case '+':
        return { status: 'ok', summary };
      case '=':
        return { status: 'up-to-date', summary };
      case '!':
        // Another push updated the ref at the same moment (the server could not lock it):
        // transient, like a non-fast-forward.
        if (/\[remote rejected\]/.test(summary) && /failed to (update ref|lock)|cannot lock ref/i.test(summary)) return { status: 'remote-busy', summary };
        if (/\[remote rejected\]/.test(summary)) return { status: 'remote-rejected', summary };
        if (/\[rejected\]/.test(summary) && /(fetch first|non-fast-forward|stale info)/.test(summary)) return { status: 'rejected-non-ff', summary };
        return { status: 'error', summary };
      default:
        return { status: 'error', summary };
    }
  }
  return null;
}
