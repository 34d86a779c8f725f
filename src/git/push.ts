/**
 * Push: always an explicit `HEAD:refs/heads/<branch>`, never a force option, and the
 * outcome read from the per-ref `--porcelain` status, not from prose or the exit code
 * alone (a server-side rejection can exit 0, a hook's text can say "fetch first").
 */
export type PushRefStatus = 'ok' | 'up-to-date' | 'rejected-non-ff' | 'remote-busy' | 'remote-rejected' | 'error';

export interface PushResult {
  status: PushRefStatus;
  summary: string;
}

export function parsePushPorcelain(stdout: string, ref: string): PushResult | null {
  for (const line of stdout.split('\n')) {
    const parts = line.split('\t');
    if (parts.length < 3) continue;
    const [flag, refs, summary = ''] = parts;
    if (!refs || !refs.endsWith(`:${ref}`)) continue;
    switch (flag) {
      case ' ':
      case '*':
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
