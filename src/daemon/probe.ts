/**
 * The remote probe of the user daemon (DESIGN.md section 11): has another device moved
 * the branch since our last fetch or push?
 *
 * THE ONE EXCEPTION TO INVARIANT 12. `git ls-remote` talks to the remote, yet it runs
 * outside the workspace lock and carries no op id: it only reads (the remote's refs,
 * and our own remote-tracking ref), writes nothing in the repository, and takes no git
 * lock, so it cannot race a sync. Taking the lock every poll_active_s instead would
 * make every CLI sync wait behind a network round trip.
 */
import type { Config } from '../shared/config.js';
import type { Workspace } from '../git/workspace.js';

export async function probeRemoteTip(
  ws: Workspace,
  config: Config,
  signal: AbortSignal,
): Promise<{ moved: boolean; remote: string | null; local: string | null }> {
  const branch =
    config.branch ??
    (await ws.git.run(['symbolic-ref', '-q', '--short', 'HEAD'], { readOnly: true, timeoutMs: 15_000, signal }).then(
      (r) => r.stdout.trim(),
      () => '',
    ));
  if (!branch) return { moved: false, remote: null, local: null }; // detached HEAD: syncs refuse it anyway
  const ref = `refs/heads/${branch}`;
  // `--` ends the options: remote and branch names are validated, but never trusted as options (invariant 11).
  const out = (await ws.git.run(['ls-remote', '--', config.remote, ref], { readOnly: true, timeoutMs: config.network_timeout_s * 1000, signal })).stdout;
  const line = out.split('\n').find((l) => l.endsWith(`\t${ref}`));
  const remote = line ? line.slice(0, line.indexOf('\t')) : null;
  const local = await ws.git
    .run(['rev-parse', '-q', '--verify', `refs/remotes/${config.remote}/${branch}^{commit}`], { readOnly: true, timeoutMs: 15_000, signal })
    .then(
      (r) => r.stdout.trim() || null,
      () => null,
    );
  // A deleted remote branch is not "moved": a sync must never re-create it silently (invariant 15).
  return { moved: remote !== null && remote !== local, remote, local };
}
